import Foundation
import Engine

/// A reference model named on the command line, a checkpoint folder or a `.gguf` file, with what reading text
/// for it takes: its tokenizer and where its eval text is by default.
public struct ReferenceModel {
    public let weights: WeightProvider
    /// The source fingerprint a package records, to tell whether the package was made from this model.
    public let fingerprint: String
    /// eval.txt in the checkpoint folder, or beside the .gguf file.
    public let defaultEval: String
    private let gguf: GGUFTokenizer?
    private let folder: String?

    public init(path: String) throws {
        if path.lowercased().hasSuffix(GGUFSource.fileExtension) {
            let g = try GGUFWeights(path: path)
            weights = g
            fingerprint = g.source.fingerprint()
            gguf = g.source.tokenizer
            folder = nil
            defaultEval = (URL(fileURLWithPath: path).deletingLastPathComponent().path) + "/eval.txt"
        } else {
            let c = try CheckpointWeights(folder: path)
            weights = c
            fingerprint = c.checkpoint.fingerprint()
            gguf = nil
            folder = path
            defaultEval = path + "/eval.txt"
        }
    }

    /// The tokenizer causal-LM eval text goes through (BERT reads its own WordPiece vocabulary instead).
    public func tokenizer() throws -> ModelTokenizer? {
        try ModelTokenizer.find(vocabSize: weights.config["vocab_size"]?.doubleValue.map { Int($0) }, gguf: gguf, folder: folder)
    }
}
