import ArgumentParser
import Foundation
import Engine
import Validation

/// Engine throughput, as ratios against a copy and plain RTN measured in the same process.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure engine throughput against in-process baselines.")

    @Option(help: "Rows of the synthetic tile.") var rows: Int = 512
    @Option(help: "Columns of the synthetic tile.") var cols: Int = 4096
    @Flag(help: "JSON on stdout.") var json = false

    func run() throws {
        try withCleanExit {
            let r = ThroughputBench.run(rows: rows, cols: cols)
            if json { print(String(decoding: try PackageJSON.encode(r), as: UTF8.self), terminator: ""); return }
            print("step".padded(40) + "  Mweights/s   x copy   x plain RTN   (\(rows) x \(cols) floats, one thread, best of 3)")
            for row in r {
                print(row.name.padded(40) + String(format: "  %10.1f   %6.3f   %11.3f", row.weightsPerSecond / 1e6, row.vsCopy, row.vsPlainRTN))
            }
        }
    }
}
