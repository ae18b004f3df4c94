import Foundation
import Engine
import Pipeline
import Runtime

/// `--calibration FILE [--calibration-tokens N]`: the text a calibrated job captures activations on, read by
/// the model's own tokenizer (bytes for a byte-level model, byte-level BPE from a GGUF source's vocabulary or a
/// checkpoint's tokenizer.json, WordPiece for a BERT). Its digest and token count are part of the job's identity.
public struct CalibrationText: Sendable {
    public var file: String
    /// Use at most this many tokens from the start of the text (nil: as many as the profile's sequences take).
    public var maxTokens: Int?

    public init(file: String, maxTokens: Int? = nil) {
        self.file = file
        self.maxTokens = maxTokens
    }

    /// The text's token ids (cut to `maxTokens`) and the identity a resume must match.
    func tokenize(for source: ModelSource) throws -> (tokens: [Int], identity: String) {
        guard let data = FileManager.default.contents(atPath: file) else { throw JobError.invalid("\(file): cannot read the calibration text") }
        if let m = maxTokens, m < 1 { throw JobError.invalid("--calibration-tokens must be at least 1, got \(m)") }
        let bytes = Array(data)
        let tokenizer = try ModelTokenizer.find(vocabSize: source.config["vocab_size"]?.doubleValue.map { Int($0) },
                                                gguf: (source as? GGUFSource)?.tokenizer, folder: source is Checkpoint ? source.location : nil,
                                                wordPiece: source.config["model_type"]?.stringValue == "bert")
        guard let tokenizer else {
            throw JobError.invalid("\(source.location): no tokenizer for the calibration text (a GGUF source's vocabulary, tokenizer.json, tokenizer.model, a BERT's vocab.txt, or a 256-token byte-level model)")
        }
        var tokens = tokenizer.encode(bytes)
        if let m = maxTokens { tokens = Array(tokens.prefix(m)) }
        return (tokens, "sha256 \(Digest.sha256Hex(bytes)), \(tokens.count) tokens")
    }
}
