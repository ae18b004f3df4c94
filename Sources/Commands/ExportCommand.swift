import ArgumentParser
import Engine

/// A package written out for the tools that serve models: a Hugging Face folder (bf16/f16/f32, re-inflated),
/// compressed-tensors for vLLM, or GGUF for llama.cpp, both at the package's compressed size.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write a package out as a Hugging Face folder, compressed-tensors or GGUF.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case hf, compressedTensors = "compressed-tensors"
    }

    @Argument(help: "Package folder.") var package: String
    @Option(help: "Output folder (new or empty).") var out: String
    @Option(help: "hf: dequantized to the source dtype; compressed-tensors: vLLM's pack-quantized int4/int8.")
    var format: Format = .hf

    func run() throws {
        try withCleanExit {
            let reader = try PackageReader(path: package)
            switch format {
            case .hf: try Exporter.export(reader, to: out)
            case .compressedTensors: try CompressedTensorsExporter.export(reader, to: out)
            }
            print("exported \(package) -> \(out) (\(format.rawValue))")
        }
    }
}
