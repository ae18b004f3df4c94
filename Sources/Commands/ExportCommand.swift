import ArgumentParser
import Engine

/// A package written out for the tools that serve models: a Hugging Face folder (bf16/f16/f32, re-inflated),
/// compressed-tensors for vLLM, or GGUF for llama.cpp, both at the package's compressed size.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write a package out as a Hugging Face folder, compressed-tensors or GGUF.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case hf, compressedTensors = "compressed-tensors", gguf
    }

    @Argument(help: "Package folder.") var package: String
    @Option(help: "Output folder (new or empty), or the .gguf file for --format gguf.") var out: String
    @Option(help: "hf: dequantized to the source dtype; compressed-tensors: vLLM's pack-quantized int4/int8; gguf: one GGUF file for llama.cpp.")
    var format: Format = .hf
    @Flag(help: "gguf: turn tensors that are not stored as ggml types into Q8_0 (larger, and more error) instead of refusing them.")
    var requantize = false
    @Flag(help: "gguf: also print the file's SHA-256 (one more pass over its bytes, which sha256sum could make later).")
    var sha256 = false

    func validate() throws {
        if (requantize || sha256) && format != .gguf { throw ValidationError("--requantize and --sha256 apply to --format gguf") }
    }

    func run() throws {
        try withCleanExit {
            BLASThreads.useOne()  // no BLAS here: stops the idle pool OpenBLAS started at load from spinning
            let reader = try PackageReader(path: package)
            switch format {
            case .hf: try Exporter.export(reader, to: out)
            case .compressedTensors: try CompressedTensorsExporter.export(reader, to: out)
            case .gguf:
                let s = try GGUFExporter.export(reader, to: out, requantize: requantize, digesting: sha256)
                for r in s.requantized {
                    stderr(String(format: "requantized %@ to %@: relative error %.4f added on top of the package's", r.name, GGUFExporter.requantizeType.rawValue, r.relativeError))
                }
                print(String(format: "%d tensors, %d tensor bytes (%.3f bits per weight), file %d bytes", s.tensors, s.tensorBytes, s.bitsPerWeight, s.fileBytes)
                      + (s.sha256.map { ", sha256 \($0)" } ?? ""))
            }
            print("exported \(package) -> \(out) (\(format.rawValue))")
        }
    }
}
