import ArgumentParser
import Engine

/// A Hugging Face folder from a package: weights dequantized, de-rotated and compensated, in the source dtype.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write a package back out as a Hugging Face folder.")

    @Argument(help: "Package folder.") var package: String
    @Option(help: "Output folder (new or empty).") var out: String

    func run() throws {
        try withCleanExit {
            let reader = try PackageReader(path: package)
            try Exporter.export(reader, to: out)
            print("exported \(package) -> \(out)")
        }
    }
}
