import ArgumentParser
import Foundation
import Engine

/// What a package holds: bits per weight per level and tensor (counted from bytes), patterns realised, errors.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show what a package holds and what was measured.")

    @Argument(help: "Package folder.") var package: String
    @Flag(help: "JSON on stdout.") var json = false

    struct Report: Codable {
        var metadata: PackageMetadata
        var tensors: [TensorReport]
    }

    func run() throws {
        try withCleanExit {
            let reader = try PackageReader(path: package)
            let reportsPath = package + "/validation/tensors.json"
            guard let data = FileManager.default.contents(atPath: reportsPath) else { throw PackageError.invalid(path: reportsPath, reason: "missing") }
            let tensors = try PackageJSON.decode([TensorReport].self, from: Array(data))
            if json {
                print(String(decoding: try PackageJSON.encode(Report(metadata: reader.metadata, tensors: tensors)), as: UTF8.self), terminator: "")
                return
            }
            let m = reader.metadata
            print("package \(package): \(m.source.name) (\(m.source.modelType)), profile \(m.profile.name), \(m.measured.tensors) tensors")
            print(String(format: "bits per weight %.3f (layers/ folder), %.3f (quantized tensors); compression %.2fx vs source",
                         m.measured.bitsPerWeightLayersFolder, m.measured.bitsPerWeightQuantizedTensors, m.measured.compressionRatioVsSource))
            print("level  params%     bpw  SQNR dB    rel.err  pattern  high share planned / realised")
            for (k, l) in m.measured.levels.sorted(by: { $0.key < $1.key }) {
                print(k.padded(5) + String(format: "  %6.2f  %6.3f  ", l.percentOfParameters, l.bitsPerWeight)
                      + (l.meanSQNRdB.map { String(format: "%.2f", $0) } ?? "n/a").padded(9) + String(format: "%7.4f  ", l.relativeError)
                      + l.patterns.joined(separator: ",").padded(9)
                      + (l.plannedHighFraction.map { String(format: "%.3f / %.3f", $0, l.realisedHighFraction ?? 0) } ?? "-"))
            }
            print("tensor".padded(50) + " level pattern     bpw  SQNR dB    rel.err  high share")
            for t in tensors {
                print(t.name.padded(50) + String(format: " %5d ", t.level) + (t.pattern ?? "source").padded(8)
                      + String(format: "%7.3f  ", t.bitsPerWeight) + (t.sqnrDB.map { String(format: "%.2f", $0) } ?? "n/a").padded(9)
                      + String(format: "%7.4f  ", t.relativeError) + (t.realisedHighFraction.map { String(format: "%.3f", $0) } ?? "-"))
            }
        }
    }
}
