import ArgumentParser
import Foundation
import Engine
import Coordinator

/// `coordinator status`: a job's state from its journal, whether the coordinator runs or not.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show tasks done, leased and left, attempts and workers from a job's journal.")

    @Option(help: "The job's output folder.") var out: String
    @Flag(help: "JSON on stdout.") var json = false

    func run() throws {
        try withCleanExit {
            let s = try JobStatus.read(outputFolder: out)
            print(json ? String(decoding: try PackageJSON.encode(s), as: UTF8.self) : s.text, terminator: json ? "" : "\n")
        }
    }
}
