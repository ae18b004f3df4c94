import Engine

/// A SentencePiece tokenizer.model, read as a GGUF export reads a checkpoint's tokenizer (with and without a
/// vocab_size that pads or cuts the pieces).
enum SentencePieceEntry {
    static func run(_ input: [UInt8]) {
        let path = ScratchFolder.write(input, as: "spm/tokenizer.model")
        let folder = String(path.dropLast("/tokenizer.model".count))
        _ = try? GGUFTokenizer(sentencePieceFolder: folder, vocabularySize: nil)
        _ = try? GGUFTokenizer(sentencePieceFolder: folder, vocabularySize: 8)
    }
}
