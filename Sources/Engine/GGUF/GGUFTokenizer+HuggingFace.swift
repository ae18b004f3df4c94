import Foundation

/// A Hugging Face tokenizer.json (with tokenizer_config.json and config.json for special tokens, add_bos and the
/// chat template) turned into llama.cpp's vocabulary, as convert_hf_to_gguf.py does for byte-level BPE ("gpt2")
/// and WordPiece ("bert"). It reads the files directly rather than running the tokenizer, so what needs the
/// running tokenizer is decided from the files: the pre-tokenizer name from the pre_tokenizer's structure.
extension GGUFTokenizer {
    /// `vocabularySize`: the model's vocab_size (the embedding rows); ids without a token become "[PADn]".
    /// `pre`: llama.cpp's pre-tokenizer name, when the file's pre_tokenizer is not one recognised here.
    /// `config`: the model's config.json when it is not in `folder` (a package keeps it beside its tokenizer folder).
    public init(huggingFaceFolder folder: String, vocabularySize: Int?, config modelConfig: JSONValue? = nil, pre: String? = nil) throws(GGUFError) {
        let path = folder + "/tokenizer.json"
        let tokenizer = try Self.readJSON(path, required: true)!
        let tokenizerConfig = try Self.readJSON(folder + "/tokenizer_config.json", required: false)
        var config = modelConfig
        if config == nil { config = try Self.readJSON(folder + "/config.json", required: false) }

        guard let model = tokenizer["model"], let modelType = model["type"]?.stringValue else {
            throw .unsupported(file: path, reason: "no model.type")
        }
        let isWordPiece: Bool
        switch modelType {
        case "WordPiece": isWordPiece = true
        case "BPE" where Self.isByteLevel(tokenizer):
            isWordPiece = false
        default:
            throw .unsupported(file: path, reason: "a \(modelType) tokenizer\(modelType == "BPE" ? " that is not byte-level" : "") is not converted (byte-level BPE and WordPiece are)")
        }

        // id -> (text, added token?) from the model's vocabulary and the added tokens.
        var byID: [Int: (text: String, added: JSONValue?)] = [:]
        for (text, idValue) in model["vocab"]?.objectValue ?? [] {
            guard let id = idValue.uint64Value, id < UInt64(Int32.max) else { throw .badKey(file: path, key: "model.vocab", reason: "id of '\(text)' is not a token id") }
            byID[Int(id)] = (text, nil)
        }
        let added = tokenizer["added_tokens"]?.arrayValue ?? []
        for a in added {
            guard let id = a["id"]?.uint64Value, id < UInt64(Int32.max), let text = a["content"]?.stringValue else {
                throw .badKey(file: path, key: "added_tokens", reason: "an entry without an integer id and a content string")
            }
            byID[Int(id)] = (text, a)
        }
        guard let maxID = byID.keys.max() else { throw .badKey(file: path, key: "model.vocab", reason: "empty vocabulary") }
        let count = vocabularySize ?? maxID + 1
        guard maxID < count else {
            throw .badKey(file: path, key: "model.vocab", reason: "token id \(maxID) is not below vocab_size \(count)")
        }

        var tokens: [String] = [], types: [GGUFValue] = []
        for i in 0..<count {
            guard let (text, addedToken) = byID[i] else {
                tokens.append("[PAD\(i)]"); types.append(.int32(TokenType.unused.rawValue)); continue
            }
            var token = text, type = TokenType.normal
            if let a = addedToken {
                if Self.isTrue(a["special"]) || Self.looksSpecial(text) { type = .control }
                else { type = .userDefined; token = text.replacingOccurrences(of: "\u{2581}", with: " ") }
            }
            if isWordPiece { token = Self.phantomSpace(token) }
            tokens.append(token); types.append(.int32(type.rawValue))
        }

        let preName: String
        if let pre { preName = pre } else if isWordPiece { preName = "default" } else { preName = try Self.preTokenizerName(tokenizer, file: path) }
        var entries: [Entry] = [
            Entry(key: Key.model, value: .string(isWordPiece ? "bert" : "gpt2")),
            Entry(key: Key.pre, value: .string(preName)),
            Entry(key: Key.tokens, value: .strings(tokens)),
            Entry(key: Key.tokenTypes, value: .array(.int32, types)),
        ]
        if isWordPiece {
            // BERT's segment embeddings; llama.cpp checks the count against token_types.weight.
            let typeCount = config?["type_vocab_size"]?.uint64Value ?? 1
            entries.append(Entry(key: Key.tokenTypeCount, value: .uint32(UInt32(truncatingIfNeeded: typeCount))))
        } else {
            entries.append(Entry(key: Key.merges, value: .strings(try Self.merges(model, file: path))))
        }
        let special = Self.specialTokens(tokenizer: tokenizer, tokenizerConfig: tokenizerConfig, config: config,
                                          tokenCount: isWordPiece ? tokens.count : nil)
        for (kind, id) in special.ids { entries.append(Entry(key: kind.key, value: .uint32(UInt32(id)))) }
        for (key, flag) in special.add { entries.append(Entry(key: key, value: .bool(flag))) }
        if let template = try Self.chatTemplate(folder: folder, tokenizerConfig: tokenizerConfig) {
            entries.append(Entry(key: Key.chatTemplate, value: .string(template)))
        }
        try self.init(entries: entries, file: path)
    }

    static func readJSON(_ path: String, required: Bool) throws(GGUFError) -> JSONValue? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if required { throw .io(file: path, reason: "file not found") }
            return nil
        }
        do { return try JSONValue.parse(Array(data)) } catch { throw .unsupported(file: path, reason: error.description) }
    }

    private static func isTrue(_ v: JSONValue?) -> Bool { v == .bool(true) }

    /// Byte-level when a ByteLevel pre-tokenizer or decoder is present, as in GPT-2-style tokenizers.
    private static func isByteLevel(_ tokenizer: JSONValue) -> Bool {
        let parts = [tokenizer["pre_tokenizer"], tokenizer["decoder"]].compactMap { $0 }.flatMap { v in
            v["type"]?.stringValue == "Sequence" ? (v["pretokenizers"] ?? v["decoders"])?.arrayValue ?? [] : [v]
        }
        return parts.contains { $0["type"]?.stringValue == "ByteLevel" }
    }

    /// Added tokens that are control tokens though not marked special (convert_hf_to_gguf's rule).
    static func looksSpecial(_ t: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(t)
            || (t.hasPrefix("<|") && t.hasSuffix("|>")) || (t.hasPrefix("<\u{FF5C}") && t.hasSuffix("\u{FF5C}>"))
            || (t.hasPrefix("<unused") && t.hasSuffix(">"))
    }

    /// llama.cpp's WordPiece marks word starts with U+2581 instead of marking continuations with "##".
    private static func phantomSpace(_ t: String) -> String {
        if t.hasPrefix("[") && t.hasSuffix("]") { return t }
        if t.hasPrefix("##") { return String(t.dropFirst(2)) }
        return "\u{2581}" + t
    }

    /// Merges as "left right"; the newer pair form has its spaces spelled as GPT-2's byte character for space.
    private static func merges(_ model: JSONValue, file: String) throws(GGUFError) -> [String] {
        var out: [String] = []
        for m in model["merges"]?.arrayValue ?? [] {
            if let s = m.stringValue { out.append(s); continue }
            guard let pair = m.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue else {
                throw .badKey(file: file, key: "model.merges", reason: "an entry is neither a string nor a pair of strings")
            }
            out.append([a, b].map { $0.replacingOccurrences(of: " ", with: "\u{0120}") }.joined(separator: " "))
        }
        return out
    }

    /// llama.cpp's name for the pre-tokenizer, recognised from the pre_tokenizer's structure (convert_hf_to_gguf
    /// hashes the running tokenizer's output instead). Only structures with a known llama.cpp equivalent.
    private static func preTokenizerName(_ tokenizer: JSONValue, file: String) throws(GGUFError) -> String {
        let p = tokenizer["pre_tokenizer"]
        let steps = p?["type"]?.stringValue == "Sequence" ? p?["pretokenizers"]?.arrayValue ?? [] : [p].compactMap { $0 }
        let kinds = steps.map { $0["type"]?.stringValue ?? "" }
        let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        switch kinds {
        case ["ByteLevel"] where steps[0]["use_regex"] != .bool(false): return "gpt-2"
        case ["Digits", "ByteLevel"] where isTrue(steps[0]["individual_digits"]): return "smollm"
        case ["Split", "ByteLevel"]:
            switch steps[0]["pattern"]?["Regex"]?.stringValue {
            case llama3: return "llama-bpe"
            case qwen2: return "qwen2"
            default: break
            }
        default: break
        }
        throw .unsupported(file: file, reason: "pre_tokenizer \(kinds) has no known llama.cpp pre-tokenizer name; give one explicitly")
    }

    /// Special token ids and add_*_token flags, as gguf-py's SpecialVocab reads them: names from
    /// tokenizer_config.json (bos falling back to cls, eos to sep) resolved through added_tokens, add flags from
    /// the post-processor template and tokenizer_config.json, remaining ids from config.json.
    static func specialTokens(tokenizer: JSONValue, tokenizerConfig: JSONValue?, config: JSONValue?, tokenCount: Int?)
        -> (ids: [(SpecialToken, Int)], add: [(String, Bool)]) {
        // SpecialVocab's names, in its order, and the llama.cpp key each is written under (cls has none).
        let kinds: [(name: String, key: SpecialToken?)] = [("bos", .bos), ("eos", .eos), ("unk", .unknown), ("sep", .seperator),
                                                           ("pad", .padding), ("cls", nil), ("mask", .mask), ("eot", .eot)]
        func content(_ v: JSONValue?) -> String? { v?.stringValue ?? v?["content"]?.stringValue }
        var names: [String: String] = [:]
        for k in kinds { if let c = content(tokenizerConfig?["\(k.name)_token"]) { names[k.name] = c } }
        if tokenizerConfig != nil {
            if names["bos"] == nil, let cls = names["cls"] { names["bos"] = cls }
            if names["eos"] == nil, let sep = names["sep"] { names["eos"] = sep }
        }

        var add: [(String, Bool)] = []
        func setAdd(_ key: String, _ v: Bool) {
            if let i = add.firstIndex(where: { $0.0 == key }) { add[i].1 = v } else { add.append((key, v)) }
        }
        let processors = tokenizer["post_processor"].map { $0["processors"]?.arrayValue ?? [$0] } ?? []
        for p in processors {
            switch p["type"]?.stringValue {
            case "RobertaProcessing":
                setAdd(Key.addBOS, true); setAdd(Key.addEOS, true); setAdd(Key.addSEP, true)
            case "TemplateProcessing":
                let single = p["single"]?.arrayValue ?? []
                guard single.count > 1 else { continue }
                let first = single.first?["SpecialToken"]?["id"]?.stringValue
                let last = single.last?["SpecialToken"]?["id"]?.stringValue
                if let f = first {
                    if tokenizerConfig == nil { names["bos"] = f }
                    setAdd(Key.addBOS, f == names["bos"] || f == names["cls"])
                }
                if let l = last {
                    // A template ending in another token makes that the EOS; the configured one becomes EOT.
                    if tokenizerConfig != nil, let eos = names["eos"], l != eos, names["eot"] == nil { names["eot"] = eos }
                    names["eos"] = l
                    setAdd(Key.addEOS, true)
                }
                if let sep = Self.templateSeparator(p["pair"]?.arrayValue ?? [], first: first, last: last, names: names) {
                    setAdd(Key.addSEP, sep)
                }
            default: break
            }
        }
        // llama.cpp has add flags for these three only.
        for name in ["bos", "eos", "sep"] {
            if case .bool(let v)? = tokenizerConfig?["add_\(name)_token"] { setAdd("tokenizer.ggml.add_\(name)_token", v) }
        }

        var ids: [(SpecialToken, Int)] = []
        let added = tokenizer["added_tokens"]?.arrayValue ?? []
        func set(_ kind: SpecialToken?, _ id: Int?) {
            guard let kind, let id, id >= 0, tokenCount.map({ id < $0 }) ?? true, !ids.contains(where: { $0.0 == kind }) else { return }
            ids.append((kind, id))
        }
        for k in kinds {
            guard let name = names[k.name] else { continue }
            set(k.key, added.first { $0["content"]?.stringValue == name }?["id"]?.uint64Value.map { Int($0) })
        }
        for k in kinds { set(k.key, config?["\(k.name)_token_id"]?.uint64Value.map { Int($0) }) }
        return (ids, add)
    }

    /// Whether the pair template puts a separator between A and B without a trailing special token doing it.
    private static func templateSeparator(_ pair: [JSONValue], first: String?, last: String?, names: [String: String]) -> Bool? {
        guard !pair.isEmpty else { return nil }
        var inner = pair[...]
        if let f = first, inner.first?["SpecialToken"]?["id"]?.stringValue == f { inner = inner.dropFirst() }
        if let l = last, inner.last?["SpecialToken"]?["id"]?.stringValue == l { inner = inner.dropLast() }
        guard inner.first?["Sequence"]?["id"]?.stringValue == "A", inner.last?["Sequence"]?["id"]?.stringValue == "B" else { return nil }
        let middle = Array(inner.dropFirst().dropLast())
        guard !middle.isEmpty else { return nil }
        let separators = [names["sep"], names["eos"]].compactMap { $0 }
        var add = false
        if let e = middle[0]["SpecialToken"]?["id"]?.stringValue, separators.contains(e), last == nil { add = true }
        if middle.count == 2, let e = middle[1]["SpecialToken"]?["id"]?.stringValue, separators.contains(e) { add = true }
        return add
    }

    /// tokenizer_config.json's chat_template (a string, or the "default" of a list), else chat_template.jinja.
    static func chatTemplate(folder: String, tokenizerConfig: JSONValue?) throws(GGUFError) -> String? {
        switch tokenizerConfig?["chat_template"] {
        case .string(let s)?: return s
        case .array(let list)?:
            return list.first { $0["name"]?.stringValue == "default" }?["template"]?.stringValue
        default:
            guard tokenizerConfig != nil, let data = FileManager.default.contents(atPath: folder + "/chat_template.jinja") else { return nil }
            guard let s = String(data: data, encoding: .utf8) else { throw .unsupported(file: folder + "/chat_template.jinja", reason: "not UTF-8") }
            return s
        }
    }
}
