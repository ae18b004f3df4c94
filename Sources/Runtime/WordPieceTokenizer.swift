import Foundation

/// BERT's tokenizer as transformers' BertTokenizer does it: basic tokenisation (clean control characters,
/// whitespace around CJK ideographs, lowercase, strip accents by NFD and dropping combining marks, split on
/// punctuation), then greedy longest-match-first WordPiece with "##" continuations; a word that cannot be
/// covered, or longer than 100 characters, becomes [UNK]. Encodings are [CLS] pieces [SEP], truncated to
/// `maxLength` (512) tokens. Special tokens written inside the text are not recognised as such.
public struct WordPieceTokenizer: Sendable {
    public let vocab: [String: Int]
    public let lowercase: Bool
    public let stripAccents: Bool
    public let maxLength: Int
    public let maxCharactersPerWord = 100
    public let unkID: Int, clsID: Int, sepID: Int, padID: Int

    public init(vocabFile: String, lowercase: Bool = true, stripAccents: Bool? = nil, maxLength: Int = 512) throws {
        guard let data = FileManager.default.contents(atPath: vocabFile) else { throw RuntimeError.badInput("\(vocabFile): cannot read") }
        var v: [String: Int] = [:]
        // load_vocab: one token per line, index = line number, only the trailing newline removed.
        var lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        for (i, line) in lines.enumerated() where v[line] == nil { v[line] = i }
        try self.init(vocab: v, lowercase: lowercase, stripAccents: stripAccents, maxLength: maxLength)
    }

    public init(vocab: [String: Int], lowercase: Bool = true, stripAccents: Bool? = nil, maxLength: Int = 512) throws {
        self.vocab = vocab
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.maxLength = maxLength
        func id(_ s: String) throws -> Int {
            guard let i = vocab[s] else { throw RuntimeError.badInput("vocabulary has no \(s) token") }
            return i
        }
        unkID = try id("[UNK]"); clsID = try id("[CLS]"); sepID = try id("[SEP]"); padID = vocab["[PAD]"] ?? 0
    }

    /// The folder's tokenizer: vocab.txt and do_lower_case / strip_accents from tokenizer_config.json.
    public static func load(folder: String, maxLength: Int = 512) throws -> WordPieceTokenizer {
        var lower = true
        var strip: Bool? = nil
        if let d = FileManager.default.contents(atPath: folder + "/tokenizer_config.json"),
           let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] {
            if let b = o["do_lower_case"] as? Bool { lower = b }
            if let b = o["strip_accents"] as? Bool { strip = b }
        }
        return try WordPieceTokenizer(vocabFile: folder + "/vocab.txt", lowercase: lower, stripAccents: strip, maxLength: maxLength)
    }

    // MARK: character classes (transformers' _is_whitespace, _is_control, _is_punctuation, _is_chinese_char)

    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        if c == " " || c == "\t" || c == "\n" || c == "\r" { return true }
        return c.properties.generalCategory == .spaceSeparator
    }

    static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        let cp = c.value
        if (33...47).contains(cp) || (58...64).contains(cp) || (91...96).contains(cp) || (123...126).contains(cp) { return true }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    static func isCJK(_ c: Unicode.Scalar) -> Bool {
        let cp = c.value
        return (0x4E00...0x9FFF).contains(cp) || (0x3400...0x4DBF).contains(cp) || (0x20000...0x2A6DF).contains(cp)
            || (0x2A700...0x2B73F).contains(cp) || (0x2B740...0x2B81F).contains(cp) || (0x2B820...0x2CEAF).contains(cp)
            || (0xF900...0xFAFF).contains(cp) || (0x2F800...0x2FA1F).contains(cp)
    }

    /// Python's str.split() with no argument: runs of Unicode whitespace separate words.
    static func splitWhitespace(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = [], cur: [Unicode.Scalar] = []
        for c in s {
            if c.properties.isWhitespace || isWhitespace(c) || (0x1C...0x1F).contains(c.value) {
                if !cur.isEmpty { out.append(cur); cur = [] }
            } else { cur.append(c) }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// Basic tokenisation: the words WordPiece then splits.
    public func basicTokens(_ text: String) -> [String] {
        var cleaned: [Unicode.Scalar] = []
        for c in text.unicodeScalars {
            if c.value == 0 || c.value == 0xFFFD || Self.isControl(c) { continue }
            if Self.isWhitespace(c) { cleaned.append(" "); continue }
            if Self.isCJK(c) { cleaned += [" ", c, " "] } else { cleaned.append(c) }
        }
        var words: [String] = []
        for raw in Self.splitWhitespace(cleaned) {
            var w = String(String.UnicodeScalarView(raw))
            if lowercase { w = w.lowercased() }
            if stripAccents {
                w = String(String.UnicodeScalarView(w.decomposedStringWithCanonicalMapping.unicodeScalars.filter {
                    $0.properties.generalCategory != .nonspacingMark
                }))
            }
            // Split on punctuation: each punctuation character becomes its own word.
            var cur: [Unicode.Scalar] = []
            for c in w.unicodeScalars {
                if Self.isPunctuation(c) {
                    if !cur.isEmpty { words.append(String(String.UnicodeScalarView(cur))); cur = [] }
                    words.append(String(c))
                } else { cur.append(c) }
            }
            if !cur.isEmpty { words.append(String(String.UnicodeScalarView(cur))) }
        }
        // whitespace_tokenize(" ".join(split_tokens)): drops nothing further for these words.
        return words.filter { !$0.isEmpty }
    }

    /// WordPiece pieces of one word.
    public func wordPieces(_ word: String) -> [String] {
        let chars = Array(word.unicodeScalars)
        if chars.count > maxCharactersPerWord { return ["[UNK]"] }
        var pieces: [String] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: String?
            while start < end {
                var s = String(String.UnicodeScalarView(chars[start..<end]))
                if start > 0 { s = "##" + s }
                if vocab[s] != nil { found = s; break }
                end -= 1
            }
            guard let f = found else { return ["[UNK]"] }
            pieces.append(f)
            start = end
        }
        return pieces
    }

    /// Word pieces of a text, without special tokens.
    public func tokenize(_ text: String) -> [String] {
        basicTokens(text).flatMap { wordPieces($0) }
    }

    /// The word pieces' ids, without special tokens or truncation.
    public func pieceIDs(_ text: String) -> [Int] {
        tokenize(text).map { vocab[$0] ?? unkID }
    }

    /// [CLS] pieces [SEP] as ids, truncated to maxLength.
    public func encode(_ text: String) -> [Int] {
        [clsID] + pieceIDs(text).prefix(max(maxLength - 2, 0)) + [sepID]
    }
}
