import Foundation

/// How a byte-level BPE tokenizer cuts text into words before merging: a sequence of regular expressions, each
/// applied to every piece the previous one left, keeping both the matches and the text between them as pieces
/// (Hugging Face's Split with behavior "Isolated", and llama.cpp's unicode_regex_split). The patterns are the
/// tokenizers' own (Oniguruma syntax), run on ICU through NSRegularExpression; `\s` becomes the Unicode
/// White_Space property, which is what Oniguruma means by it and ICU's `\s` is not (it omits U+000B, U+0085).
public struct BPEPreTokenizer: @unchecked Sendable {
    /// GPT-2's pattern (Hugging Face's ByteLevel pre-tokenizer with use_regex).
    public static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// Llama 3's (llama.cpp "llama-bpe").
    public static let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2's: Llama 3's with single digits.
    public static let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Hugging Face's Digits pre-tokenizer with individual_digits (Rust's char::is_numeric is \p{N}).
    public static let singleDigits = #"\p{N}"#
    public static let digitRuns = #"\p{N}+"#

    /// The patterns as given, in order.
    public let patterns: [String]
    // NSRegularExpression is immutable and documented thread-safe, but not marked Sendable.
    private let expressions: [NSRegularExpression]

    public init(patterns: [String]) throws {
        self.patterns = patterns
        expressions = try patterns.map { pattern in
            do { return try NSRegularExpression(pattern: Self.icuPattern(pattern)) } catch {
                throw RuntimeError.unsupported("pre-tokenizer pattern \(pattern) does not compile: \(error)")
            }
        }
    }

    /// The patterns of a llama.cpp pre-tokenizer name (tokenizer.ggml.pre) and whether it takes a word found whole
    /// in the vocabulary as one token without merging (llama.cpp's ignore_merges, Llama 3 only).
    public static func llamaCpp(pre: String) throws -> (patterns: [String], ignoresMerges: Bool) {
        switch pre {
        case "gpt-2", "phi-2", "jina-es", "jina-de", "mpt", "olmo", "jais", "trillion":
            return ([gpt2], false)
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return ([singleDigits, gpt2], false)
        case "llama3", "llama-v3", "llama-bpe", "falcon3":
            return ([llama3], true)
        case "smaug-bpe":
            return ([llama3], false)
        case "qwen2", "deepseek-r1-qwen":
            return ([qwen2], false)
        default:
            // Includes "default", llama.cpp's choice for files without a name, which splits punctuation and
            // digit triples in extra passes no Hugging Face tokenizer shares.
            throw RuntimeError.unsupported("llama.cpp pre-tokenizer '\(pre)' (known: gpt-2, smollm, starcoder, llama-bpe, qwen2 and their aliases)")
        }
    }

    /// `text` cut into words, in order; their concatenation is `text`.
    public func split(_ text: Substring) -> [Substring] {
        var pieces = [text]
        for expression in expressions {
            var next: [Substring] = []
            next.reserveCapacity(pieces.count * 2)
            for piece in pieces where !piece.isEmpty {
                Self.split(piece, by: expression, into: &next)
            }
            pieces = next
        }
        return pieces.filter { !$0.isEmpty }
    }

    private static func split(_ piece: Substring, by expression: NSRegularExpression, into out: inout [Substring]) {
        // One String per piece: NSRegularExpression copies its whole argument to UTF-16 on every call.
        let string = String(piece)
        let utf16 = string.utf16
        var previous = utf16.startIndex
        func offsetIndex(_ offset: Int) -> String.Index {
            utf16.index(utf16.startIndex, offsetBy: offset)
        }
        for match in expression.matches(in: string, range: NSRange(location: 0, length: utf16.count)) where match.range.length > 0 {
            let start = offsetIndex(match.range.location), end = offsetIndex(match.range.location + match.range.length)
            if previous < start { out.append(piece[bridged(previous, string, piece)..<bridged(start, string, piece)]) }
            out.append(piece[bridged(start, string, piece)..<bridged(end, string, piece)])
            previous = end
        }
        if previous < string.endIndex { out.append(piece[bridged(previous, string, piece)...]) }
    }

    /// The index in `piece` at the same UTF-8 offset as `index` in its copy `string`.
    @inline(__always)
    private static func bridged(_ index: String.Index, _ string: String, _ piece: Substring) -> String.Index {
        piece.utf8.index(piece.startIndex, offsetBy: string.utf8.distance(from: string.startIndex, to: index))
    }

    /// Oniguruma's `\s`/`\S` as ICU's White_Space property; every other escape kept as written.
    static func icuPattern(_ pattern: String) -> String {
        var out = "", escaped = false
        for c in pattern {
            if escaped {
                switch c {
                case "s": out += #"\p{White_Space}"#
                case "S": out += #"\P{White_Space}"#
                default: out += "\\"; out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        if escaped { out += "\\" }
        return out
    }
}
