import Foundation
import Engine

/// A reference model named on the command line, a checkpoint folder or a `.gguf` file, with what reading text
/// for it takes: its tokenizer and where its eval text is by default.
public struct ReferenceModel {
    public let weights: WeightProvider
    /// The source fingerprint a package records, to tell whether the package was made from this model.
    public let fingerprint: String
    public let tokenizer: ModelTokenizer?
    /// eval.txt in the checkpoint folder, or beside the .gguf file.
    public let defaultEval: String

    public init(path: String) throws {
        let vocab = { (c: JSONValue) in c["vocab_size"]?.doubleValue.map { Int($0) } }
        if path.lowercased().hasSuffix(GGUFSource.fileExtension) {
            let g = try GGUFWeights(path: path)
            weights = g
            fingerprint = g.source.fingerprint()
            tokenizer = try ModelTokenizer.find(vocabSize: vocab(g.config), gguf: g.source.tokenizer)
            defaultEval = (URL(fileURLWithPath: path).deletingLastPathComponent().path) + "/eval.txt"
        } else {
            let c = try CheckpointWeights(folder: path)
            weights = c
            fingerprint = c.checkpoint.fingerprint()
            tokenizer = try ModelTokenizer.find(vocabSize: vocab(c.config), folder: path)
            defaultEval = path + "/eval.txt"
        }
    }
}
