import Foundation

/// What llama.cpp reads to tokenize: the `tokenizer.*` metadata of a GGUF file (tokenizer.ggml.model, pre,
/// tokens, token_type, merges, scores, special token ids, add_bos/add_eos, tokenizer.chat_template, ...), kept as
/// the ordered key-value pairs they are stored as, so a GGUF source's tokenizer is carried over exactly. A package
/// stores it as JSON (Codable), carrying it from source to export.
public struct GGUFTokenizer: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var key: String
        public var value: GGUFValue
        public init(key: String, value: GGUFValue) { self.key = key; self.value = value }
    }

    /// llama.cpp's token attributes (gguf TokenType).
    public enum TokenType: Int32, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// The special tokens llama.cpp reads ids for, named as its keys spell them ("seperator" included).
    public enum SpecialToken: String, Sendable, CaseIterable {
        case bos, eos, unknown, seperator, padding, mask, eot, eom
        public var key: String { "tokenizer.ggml.\(rawValue)_token_id" }
    }

    public enum Key {
        public static let prefix = "tokenizer."
        public static let model = "tokenizer.ggml.model"
        public static let pre = "tokenizer.ggml.pre"
        public static let tokens = "tokenizer.ggml.tokens"
        public static let tokenTypes = "tokenizer.ggml.token_type"
        public static let tokenTypeCount = "tokenizer.ggml.token_type_count"
        public static let scores = "tokenizer.ggml.scores"
        public static let merges = "tokenizer.ggml.merges"
        public static let addBOS = "tokenizer.ggml.add_bos_token"
        public static let addEOS = "tokenizer.ggml.add_eos_token"
        public static let addSEP = "tokenizer.ggml.add_sep_token"
        public static let chatTemplate = "tokenizer.chat_template"
    }

    public private(set) var entries: [Entry]

    /// `entries` must all be `tokenizer.*` keys, each once, with a model name and a non-empty token list; `file`
    /// names where they came from in errors.
    public init(entries: [Entry], file: String) throws(GGUFError) {
        var seen = Set<String>()
        for e in entries {
            guard e.key.hasPrefix(Key.prefix), seen.insert(e.key).inserted else {
                throw .badKey(file: file, key: e.key, reason: "not a tokenizer key, or given twice")
            }
            guard e.value.isWellTyped else { throw .badKey(file: file, key: e.key, reason: "array elements do not all have the declared type") }
        }
        self.entries = entries
        guard model != nil else { throw .badKey(file: file, key: Key.model, reason: "missing or not a string") }
        guard case .array(.string, let list)? = self[Key.tokens], !list.isEmpty else {
            throw .badKey(file: file, key: Key.tokens, reason: "missing, empty or not an array of strings")
        }
        if case .array(_, let types)? = self[Key.tokenTypes], types.count != list.count {
            throw .badKey(file: file, key: Key.tokenTypes, reason: "\(types.count) entries for \(list.count) tokens")
        }
        if case .array(_, let scores)? = self[Key.scores], scores.count != list.count {
            throw .badKey(file: file, key: Key.scores, reason: "\(scores.count) entries for \(list.count) tokens")
        }
        for s in SpecialToken.allCases {
            if let v = self[s.key] {
                guard let id = v.intValue, id >= 0, id < list.count else {
                    throw .badKey(file: file, key: s.key, reason: "\(v) is not a token id below \(list.count)")
                }
            }
        }
    }

    /// Every `tokenizer.*` key of a GGUF file, in file order: the source's tokenizer exactly.
    public init(gguf: GGUFFile) throws(GGUFError) {
        try self.init(entries: gguf.metadata.filter { $0.key.hasPrefix(Key.prefix) }.map { Entry(key: $0.key, value: $0.value) },
                      file: gguf.path)
    }

    /// The pairs to write into a GGUF file, in order.
    public var metadata: [(key: String, value: GGUFValue)] { entries.map { ($0.key, $0.value) } }

    public subscript(key: String) -> GGUFValue? { entries.first { $0.key == key }?.value }

    public var model: String? { self[Key.model]?.stringValue }
    public var pre: String? { self[Key.pre]?.stringValue }
    public var tokens: [String] { self[Key.tokens]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    public var tokenTypes: [Int] { self[Key.tokenTypes]?.arrayValue?.compactMap(\.intValue) ?? [] }
    public var merges: [String]? { self[Key.merges]?.arrayValue?.compactMap(\.stringValue) }
    public var addBOS: Bool? { self[Key.addBOS]?.boolValue }
    public var addEOS: Bool? { self[Key.addEOS]?.boolValue }
    public var chatTemplate: String? { self[Key.chatTemplate]?.stringValue }
    public func id(of special: SpecialToken) -> Int? { self[special.key]?.intValue }

    /// Where a package keeps a tokenizer that came from a GGUF source (tokenizer/ folder).
    public static let packageFileName = "gguf-tokenizer.json"

    public func jsonBytes() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return Array(try e.encode(self))
    }

    /// Reads a tokenizer stored by `jsonBytes`, validating it as a GGUF file's would be.
    public init(jsonBytes: [UInt8], file: String) throws(GGUFError) {
        let decoded: GGUFTokenizer
        do { decoded = try JSONDecoder().decode(GGUFTokenizer.self, from: Data(jsonBytes)) } catch {
            throw .unsupported(file: file, reason: "not a stored tokenizer: \(error)")
        }
        try self.init(entries: decoded.entries, file: file)
    }
}
