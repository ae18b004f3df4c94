import Foundation
import Engine

/// The tokenizer a model reads text with: bytes for a 256-token byte-level model, else byte-level BPE or
/// SentencePiece from a GGUF file's vocabulary or a checkpoint folder's tokenizer.json or tokenizer.model, or a
/// BERT folder's WordPiece vocabulary. Calibration text and eval text go through the same one.
public enum ModelTokenizer: Sendable {
    case bytes
    case bpe(BPETokenizer)
    case sentencePiece(SentencePieceTokenizer)
    /// Word pieces without [CLS] and [SEP]: a long text is cut into sequences afterwards.
    case wordPiece(WordPieceTokenizer)

    /// The model's tokenizer, nil when it has none this runtime reads. `wordPiece`: the folder is a BERT's.
    public static func find(vocabSize: Int?, gguf: GGUFTokenizer? = nil, folder: String? = nil, wordPiece: Bool = false) throws -> ModelTokenizer? {
        if let g = gguf { return g.model == "llama" ? .sentencePiece(try SentencePieceTokenizer(gguf: g)) : .bpe(try BPETokenizer(gguf: g)) }
        if wordPiece, let f = folder, FileManager.default.fileExists(atPath: f + "/vocab.txt") { return .wordPiece(try WordPieceTokenizer.load(folder: f)) }
        if let f = folder, FileManager.default.fileExists(atPath: f + "/tokenizer.json") {
            return .bpe(try BPETokenizer(huggingFaceFile: f + "/tokenizer.json"))
        }
        if let f = folder, FileManager.default.fileExists(atPath: f + "/tokenizer.model") {
            return .sentencePiece(try SentencePieceTokenizer(gguf: GGUFTokenizer(sentencePieceFolder: f, vocabularySize: vocabSize)))
        }
        if vocabSize == 256 { return .bytes }
        return nil
    }

    public func encode(_ bytes: [UInt8]) -> [Int] {
        switch self {
        case .bytes: return bytes.map { Int($0) }
        case .bpe(let t): return t.encode(String(decoding: bytes, as: UTF8.self))
        case .sentencePiece(let t): return t.encode(String(decoding: bytes, as: UTF8.self))
        case .wordPiece(let t): return t.pieceIDs(String(decoding: bytes, as: UTF8.self))
        }
    }
}
