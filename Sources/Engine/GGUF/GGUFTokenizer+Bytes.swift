import Foundation

extension GGUFTokenizer {
    /// GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the rest are moved to
    /// U+0100 onwards in byte order. Byte-level BPE token texts (and llama.cpp's "gpt2" model) are spelled in it.
    public static let gpt2ByteCharacters: [Character] = {
        let printable = Set(Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF))
        var next = 0x100
        return (0..<256).map { b in
            if printable.contains(b) { return Character(Unicode.Scalar(UInt8(b))) }
            defer { next += 1 }
            return Character(Unicode.Scalar(UInt32(next))!)
        }
    }()

    /// For a model whose token ids are the bytes themselves (vocabulary of 256, no tokenizer files): a "gpt2"
    /// vocabulary of the 256 byte tokens with no merges, token i = byte i, nothing added at the start or end.
    /// With no merges llama.cpp's BPE leaves every byte its own token, so text tokenizes into exactly its bytes.
    /// The merges key is present but empty because llama.cpp refuses a "gpt2" vocabulary without one.
    public static func byteLevel() -> GGUFTokenizer {
        let entries: [Entry] = [
            Entry(key: Key.model, value: .string("gpt2")),
            Entry(key: Key.pre, value: .string("default")),
            Entry(key: Key.tokens, value: .strings(gpt2ByteCharacters.map(String.init))),
            Entry(key: Key.tokenTypes, value: .array(.int32, Array(repeating: .int32(TokenType.normal.rawValue), count: 256))),
            Entry(key: Key.merges, value: .strings([])),
            Entry(key: Key.addBOS, value: .bool(false)),
            Entry(key: Key.addEOS, value: .bool(false)),
        ]
        // Built from constants that satisfy every rule `init(entries:)` checks.
        return try! GGUFTokenizer(entries: entries, file: "byte vocabulary")
    }

    /// The tokenizer of a Hugging Face checkpoint folder: from tokenizer.json when there is one, else from a
    /// SentencePiece tokenizer.model, else the byte vocabulary when the model has 256 tokens and no tokenizer
    /// files (its ids are bytes).
    public static func forCheckpoint(folder: String, config: JSONValue) throws(GGUFError) -> GGUFTokenizer {
        let fm = FileManager.default
        let vocabularySize = config["vocab_size"]?.uint64Value.map { Int($0) }
        if fm.fileExists(atPath: folder + "/tokenizer.json") {
            return try GGUFTokenizer(huggingFaceFolder: folder, vocabularySize: vocabularySize, config: config)
        }
        if fm.fileExists(atPath: folder + "/tokenizer.model") {
            return try GGUFTokenizer(sentencePieceFolder: folder, vocabularySize: vocabularySize, config: config)
        }
        let tokenizerFiles = ["vocab.json", "vocab.txt", "merges.txt", "tokenizer_config.json"]
        let present = tokenizerFiles.filter { fm.fileExists(atPath: folder + "/" + $0) }
        if present.isEmpty, config["vocab_size"]?.uint64Value == 256 { return byteLevel() }
        throw .unsupported(file: folder, reason: present.isEmpty
            ? "no tokenizer.json, and vocab_size is not 256 (a byte vocabulary): the GGUF would have no tokenizer"
            : "tokenizer files \(present.joined(separator: ", ")) without tokenizer.json are not converted")
    }
}
