import Foundation
import SwiftProtobuf

/// A SentencePiece model (tokenizer.model, with tokenizer_config.json and config.json beside it) turned into
/// llama.cpp's "llama" vocabulary as convert_hf_to_gguf.py does: every piece with its score and type, ids the model
/// lacks up to vocab_size as "[PADn]", added_tokens.json and tokenizer_config.json's added_tokens_decoder over
/// them, special ids from config.json and add flags from tokenizer_config.json (no tokenizer.json to resolve
/// names through), and the chat template.
extension GGUFTokenizer {
    /// `vocabularySize`: the model's vocab_size (the embedding rows). `config`: the model's config.json when it is
    /// not in `folder`.
    public init(sentencePieceFolder folder: String, vocabularySize: Int?, config modelConfig: JSONValue? = nil) throws(GGUFError) {
        let path = folder + "/tokenizer.model"
        guard let data = FileManager.default.contents(atPath: path) else { throw .io(file: path, reason: "file not found") }
        let model: Sentencepiece_ModelProto
        do { model = try Sentencepiece_ModelProto(serializedBytes: data) } catch {
            throw .unsupported(file: path, reason: "not a SentencePiece model: \(error)")
        }
        guard !model.pieces.isEmpty else { throw .badKey(file: path, key: "pieces", reason: "no pieces") }
        let tokenizerConfig = try Self.readJSON(folder + "/tokenizer_config.json", required: false)
        var config = modelConfig
        if config == nil { config = try Self.readJSON(folder + "/config.json", required: false) }

        let count = vocabularySize ?? model.pieces.count
        var tokens = (0..<count).map { "[PAD\($0)]" }
        var scores = [Float](repeating: -10000, count: count)
        var types = [TokenType](repeating: .unused, count: count)
        for (id, p) in model.pieces.prefix(count).enumerated() {
            guard p.score.isFinite else { throw .badKey(file: path, key: "pieces", reason: "piece \(id) has score \(p.score)") }
            tokens[id] = p.piece
            scores[id] = p.score
            // The processor's IsUnknown / IsControl / IsUnused / IsByte; a user-defined piece stays normal there.
            switch p.type {
            case .unknown: types[id] = .unknown
            case .control: types[id] = .control
            case .unused: types[id] = .unused
            case .byte: types[id] = .byte
            case .normal, .userDefined: types[id] = .normal
            }
        }
        // Added tokens replace the pieces at their ids (ids past vocab_size are left out, as the converter does).
        func add(_ text: String, id: Int, type: TokenType) {
            guard id >= 0, id < count else { return }
            tokens[id] = text; scores[id] = -1000; types[id] = type
        }
        for (text, id) in try Self.readJSON(folder + "/added_tokens.json", required: false)?.objectValue ?? [] {
            guard let id = id.uint64Value, id < UInt64(Int32.max) else { throw .badKey(file: folder + "/added_tokens.json", key: text, reason: "not a token id") }
            add(text, id: Int(id), type: .userDefined)
        }
        for (key, entry) in tokenizerConfig?["added_tokens_decoder"]?.objectValue ?? [] {
            guard let id = Int(key), let text = entry["content"]?.stringValue else {
                throw .badKey(file: folder + "/tokenizer_config.json", key: "added_tokens_decoder", reason: "entry '\(key)' without an integer id and a content string")
            }
            // A user-defined token's U+2581 are spaces in the vocabulary, as the converter writes them.
            if entry["special"] == .bool(true) || Self.looksSpecial(text) { add(text, id: id, type: .control) }
            else { add(text.replacingOccurrences(of: "\u{2581}", with: " "), id: id, type: .userDefined) }
        }

        var entries: [Entry] = [
            Entry(key: Key.model, value: .string("llama")),
            Entry(key: Key.pre, value: .string("default")),
            Entry(key: Key.tokens, value: .strings(tokens)),
            Entry(key: Key.scores, value: .array(.float32, scores.map { .float32($0) })),
            Entry(key: Key.tokenTypes, value: .array(.int32, types.map { .int32($0.rawValue) })),
        ]
        let special = Self.specialTokens(tokenizer: .object([]), tokenizerConfig: tokenizerConfig, config: config, tokenCount: count)
        for (kind, id) in special.ids { entries.append(Entry(key: kind.key, value: .uint32(UInt32(id)))) }
        for (key, flag) in special.add { entries.append(Entry(key: key, value: .bool(flag))) }
        if let template = try Self.chatTemplate(folder: folder, tokenizerConfig: tokenizerConfig) {
            entries.append(Entry(key: Key.chatTemplate, value: .string(template)))
        }
        try self.init(entries: entries, file: path)
    }
}
