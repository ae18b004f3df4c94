import Foundation
import Engine

/// The tokenizer a model reads text with: bytes for a 256-token byte-level model, else byte-level BPE from a GGUF
/// file's vocabulary or a checkpoint folder's tokenizer.json. Calibration text and eval text go through the same one.
public enum ModelTokenizer: Sendable {
    case bytes
    case bpe(BPETokenizer)

    /// The model's tokenizer, nil when it has none this runtime reads.
    public static func find(vocabSize: Int?, gguf: GGUFTokenizer? = nil, folder: String? = nil) throws -> ModelTokenizer? {
        if let g = gguf { return .bpe(try BPETokenizer(gguf: g)) }
        if let f = folder, FileManager.default.fileExists(atPath: f + "/tokenizer.json") {
            return .bpe(try BPETokenizer(huggingFaceFile: f + "/tokenizer.json"))
        }
        if vocabSize == 256 { return .bytes }
        return nil
    }

    public func encode(_ bytes: [UInt8]) -> [Int] {
        switch self {
        case .bytes: return bytes.map { Int($0) }
        case .bpe(let t): return t.encode(String(decoding: bytes, as: UTF8.self))
        }
    }
}
