import Foundation

extension BPETokenizer {
    /// A Hugging Face tokenizer.json whose model is BPE over the byte alphabet: vocab, merges ("a b" strings or
    /// [a, b] pairs), ignore_merges, unk_token, fuse_unk and added_tokens, with a pre-tokenizer built from ByteLevel (add_prefix_space
    /// off), Split (Isolated, not inverted), Digits and Sequence, and no normalizer. Anything else is refused
    /// by name rather than tokenized differently.
    public init(huggingFaceJSON bytes: [UInt8], file: String) throws {
        func fail(_ reason: String) -> RuntimeError { .badInput("\(file): \(reason)") }
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { throw fail("not a JSON object") }
        guard let model = root["model"] as? [String: Any], model["type"] as? String == "BPE" else { throw fail("model.type is not BPE") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] where !(model[key] is NSNull || model[key] == nil || model[key] as? String == "") {
            throw RuntimeError.unsupported("\(file): model.\(key)")
        }
        if model["byte_fallback"] as? Bool == true { throw RuntimeError.unsupported("\(file): model.byte_fallback") }
        if let normalizer = root["normalizer"] as? [String: Any] {
            throw RuntimeError.unsupported("\(file): normalizer \(normalizer["type"] ?? "?")")
        }

        guard let vocab = model["vocab"] as? [String: Any] else { throw fail("model.vocab is not an object") }
        var byID: [Int: String] = [:]
        for (text, value) in vocab {
            guard let id = value as? Int, id >= 0 else { throw fail("model.vocab['\(text)'] is not a token id") }
            byID[id] = text
        }
        var added: [String: Int] = [:]
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = entry["id"] as? Int, id >= 0, let text = entry["content"] as? String, !text.isEmpty else {
                throw fail("added_tokens: an entry without an id and a content")
            }
            for flag in ["lstrip", "rstrip", "single_word"] where entry[flag] as? Bool == true {
                throw RuntimeError.unsupported("\(file): added token '\(text)' with \(flag)")
            }
            byID[id] = text
            added[text] = id
        }
        let count = (byID.keys.max() ?? -1) + 1
        guard count > 0, byID.count == count else { throw fail("token ids are not 0..<\(count) without gaps") }
        let tokens = (0..<count).map { byID[$0]! }

        var merges: [(String, String)] = []
        for (rank, item) in (model["merges"] as? [Any] ?? []).enumerated() {
            if let pair = item as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else if let line = item as? String, let space = line.firstIndex(of: " ") {
                merges.append((String(line[..<space]), String(line[line.index(after: space)...])))
            } else {
                throw fail("model.merges[\(rank)] is neither 'a b' nor [a, b]")
            }
        }
        let patterns = try Self.patterns(of: root["pre_tokenizer"], file: file)
        var unknownID: Int? = nil
        if let unknown = model["unk_token"] as? String {
            guard let id = tokens.firstIndex(of: unknown) else { throw fail("model.unk_token '\(unknown)' is not in the vocabulary") }
            unknownID = id
        }
        try self.init(tokens: tokens, merges: merges, addedTokens: added, preTokenizer: BPEPreTokenizer(patterns: patterns),
                      ignoresMerges: model["ignore_merges"] as? Bool ?? false, unknownID: unknownID, fusesUnknown: model["fuse_unk"] as? Bool ?? false)
    }

    public init(huggingFaceFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw RuntimeError.badInput("\(path): cannot read") }
        try self.init(huggingFaceJSON: Array(data), file: path)
    }

    /// The split patterns of a pre_tokenizer object, in order; a byte-level one must be among them.
    private static func patterns(of preTokenizer: Any?, file: String) throws -> [String] {
        var patterns: [String] = []
        var byteLevel = false
        func walk(_ node: Any?) throws {
            guard let node = node as? [String: Any], let type = node["type"] as? String else {
                throw RuntimeError.badInput("\(file): pre_tokenizer is missing or has no type")
            }
            switch type {
            case "Sequence":
                for child in node["pretokenizers"] as? [Any] ?? [] { try walk(child) }
            case "ByteLevel":
                guard node["add_prefix_space"] as? Bool != true else { throw RuntimeError.unsupported("\(file): ByteLevel with add_prefix_space") }
                byteLevel = true
                if node["use_regex"] as? Bool ?? true { patterns.append(BPEPreTokenizer.gpt2) }
            case "Split":
                guard node["behavior"] as? String == "Isolated", node["invert"] as? Bool != true else {
                    throw RuntimeError.unsupported("\(file): Split with behavior \(node["behavior"] ?? "?")\(node["invert"] as? Bool == true ? ", inverted" : "")")
                }
                let pattern = node["pattern"] as? [String: Any]
                if let regex = pattern?["Regex"] as? String {
                    patterns.append(regex)
                } else if let literal = pattern?["String"] as? String {
                    patterns.append(NSRegularExpression.escapedPattern(for: literal))
                } else {
                    throw RuntimeError.badInput("\(file): Split without a Regex or String pattern")
                }
            case "Digits":
                patterns.append(node["individual_digits"] as? Bool == true ? BPEPreTokenizer.singleDigits : BPEPreTokenizer.digitRuns)
            default:
                throw RuntimeError.unsupported("\(file): pre-tokenizer \(type)")
            }
        }
        try walk(preTokenizer)
        guard byteLevel else { throw RuntimeError.unsupported("\(file): the pre-tokenizer is not byte-level") }
        return patterns
    }
}
