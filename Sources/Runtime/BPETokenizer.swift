import Foundation

/// Byte-level BPE (GPT-2, SmolLM2, Llama 3, Qwen2) as Hugging Face's `tokenizers` runs it: added tokens are cut out
/// of the text first (leftmost, longest), the rest is pre-tokenized into words, each word's UTF-8 bytes are spelled
/// in GPT-2's byte alphabet and merged pairwise, always the lowest-ranked adjacent pair first (the leftmost on a tie, as the Rust heap orders them),
/// until no pair of the merge list is left. Built from a GGUF's tokenizer metadata (BPETokenizer+GGUF) or a
/// tokenizer.json (BPETokenizer+HuggingFace).
public struct BPETokenizer: Sendable {
    /// id -> vocabulary entry (in the byte alphabet; added tokens as their text).
    public let tokens: [String]
    public let preTokenizer: BPEPreTokenizer
    /// Words found whole in the vocabulary become that token without merging (Llama 3's ignore_merges).
    public let ignoresMerges: Bool
    /// Added tokens (specials such as <|im_end|>, user-defined ones) matched verbatim in the text: text -> id.
    public let addedTokens: [String: Int]

    private let vocabulary: [String: Int]
    /// Pair of symbol ids (first << 32 | second) -> (rank, merged id).
    private let merges: [UInt64: (rank: Int32, merged: Int32)]
    /// Byte -> id of its single-character token; -1 where the vocabulary lacks it (SmolLM2 lacks a few control
    /// bytes), and such a byte becomes `unknownID` or, without one, is dropped, as `tokenizers` and llama.cpp do.
    private let byteIDs: [Int32]
    public let unknownID: Int?
    /// Consecutive unknown bytes become one unknown token (Hugging Face's fuse_unk).
    public let fusesUnknown: Bool
    /// Added tokens by their first UTF-8 byte, longest first.
    private let addedByFirstByte: [UInt8: [(bytes: [UInt8], id: Int)]]

    /// `merges`: pairs of vocabulary entries, best first. Every byte's character, every merge's parts and result, and
    /// every added token must be in `tokens` (added tokens by their own text).
    public init(tokens: [String], merges: [(String, String)], addedTokens: [String: Int], preTokenizer: BPEPreTokenizer, ignoresMerges: Bool,
                unknownID: Int? = nil, fusesUnknown: Bool = false) throws {
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where vocabulary[token] == nil { vocabulary[token] = id }
        byteIDs = ByteLevelAlphabet.characters.map { Int32(vocabulary[String($0)] ?? -1) }
        guard byteIDs.contains(where: { $0 >= 0 }) else { throw RuntimeError.badInput("the vocabulary spells no byte in GPT-2's byte alphabet") }
        if let unknownID, !(0..<tokens.count).contains(unknownID) {
            throw RuntimeError.badInput("unknown token id \(unknownID) is not below \(tokens.count)")
        }
        var table: [UInt64: (rank: Int32, merged: Int32)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let left = vocabulary[a], let right = vocabulary[b], let merged = vocabulary[a + b] else {
                throw RuntimeError.badInput("merge \(rank) '\(a) \(b)': a part or the result is not in the vocabulary")
            }
            let key = UInt64(left) << 32 | UInt64(right)
            if table[key] == nil { table[key] = (Int32(rank), Int32(merged)) }
        }
        var byFirstByte: [UInt8: [(bytes: [UInt8], id: Int)]] = [:]
        for (text, id) in addedTokens {
            guard id >= 0, id < tokens.count, let first = text.utf8.first else {
                throw RuntimeError.badInput("added token '\(text)' is empty or its id \(id) is not below \(tokens.count)")
            }
            byFirstByte[first, default: []].append((Array(text.utf8), id))
        }
        for key in byFirstByte.keys { byFirstByte[key]!.sort { $0.bytes.count > $1.bytes.count || ($0.bytes.count == $1.bytes.count && $0.id < $1.id) } }

        self.tokens = tokens
        self.preTokenizer = preTokenizer
        self.ignoresMerges = ignoresMerges
        self.addedTokens = addedTokens
        self.unknownID = unknownID
        self.fusesUnknown = fusesUnknown
        self.vocabulary = vocabulary
        self.merges = table
        addedByFirstByte = byFirstByte
    }

    /// The ids of `text`, no BOS or EOS added.
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3)
        // Words repeat: each distinct one is merged once per call. Keyed by bytes: String equality is canonical
        // equivalence, under which U+2001 is U+2003 and "é" is "e\u{301}", words with different bytes.
        var cache: [[UInt8]: [Int32]] = [:]
        for segment in segments(text) {
            switch segment {
            case .added(let id):
                ids.append(id)
            case .text(let chunk):
                for word in preTokenizer.split(chunk) {
                    let key = Array(word.utf8)
                    if let known = cache[key] {
                        ids.append(contentsOf: known.lazy.map(Int.init))
                        continue
                    }
                    let merged = merge(word)
                    cache[key] = merged
                    ids.append(contentsOf: merged.lazy.map(Int.init))
                }
            }
        }
        return ids
    }

    /// The text of `ids`: vocabulary entries mapped back from the byte alphabet, added tokens as written.
    /// Ids out of range are skipped; bytes that are not valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            let token = tokens[id]
            if addedTokens[token] == id {
                bytes.append(contentsOf: token.utf8)
            } else {
                for c in token.unicodeScalars { if let b = ByteLevelAlphabet.bytes[c] { bytes.append(b) } }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private enum Segment {
        case text(Substring)
        case added(Int)
    }

    /// `text` as runs of plain text and the added tokens between them, leftmost match first, the longest there.
    private func segments(_ text: String) -> [Segment] {
        guard !addedByFirstByte.isEmpty else { return [.text(text[...])] }
        var out: [Segment] = []
        let utf8 = text.utf8
        var runStart = utf8.startIndex, i = utf8.startIndex
        while i < utf8.endIndex {
            if let candidates = addedByFirstByte[utf8[i]],
               let hit = candidates.first(where: { utf8[i...].starts(with: $0.bytes) }) {
                if runStart < i { out.append(.text(text[runStart..<i])) }
                out.append(.added(hit.id))
                i = utf8.index(i, offsetBy: hit.bytes.count)
                runStart = i
            } else {
                i = utf8.index(after: i)
            }
        }
        if runStart < utf8.endIndex { out.append(.text(text[runStart...])) }
        return out
    }

    /// One word's ids: its bytes' tokens merged lowest rank first until no listed pair remains.
    private func merge(_ word: Substring) -> [Int32] {
        if ignoresMerges, let whole = vocabulary[ByteLevelAlphabet.spell(word)] { return [Int32(whole)] }
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.utf8.count)
        for byte in word.utf8 {
            let id = byteIDs[Int(byte)]
            if id >= 0 {
                symbols.append(id)
            } else if let unknownID, !(fusesUnknown && symbols.last == Int32(unknownID)) {
                symbols.append(Int32(unknownID))
            }
        }
        while symbols.count > 1 {
            var best: (rank: Int32, merged: Int32, at: Int)? = nil
            for i in 0..<(symbols.count - 1) {
                if let m = merges[UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))], best == nil || m.rank < best!.rank {
                    best = (m.rank, m.merged, i)
                }
            }
            guard let (_, merged, at) = best else { break }
            symbols[at] = merged
            symbols.remove(at: at + 1)
        }
        return symbols
    }
}
