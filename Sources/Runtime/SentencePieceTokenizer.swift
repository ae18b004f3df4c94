import Foundation
import Engine
import HeapModule

/// llama.cpp's tokenizer for a "llama" (SentencePiece) vocabulary, as its llm_tokenizer_spm runs it on text
/// without special-token parsing: user-defined tokens are split out of the text first; each remaining fragment
/// gets a leading space when it starts the text or follows such a token, spaces become U+2581, and adjacent
/// pieces merge, highest score first (the leftmost of equal scores), while their concatenation is a token; a
/// character no token covers becomes its bytes' <0xXX> tokens.
public struct SentencePieceTokenizer: Sendable {
    let ids: [String: Int]
    let scores: [Float]
    let userDefined: [(text: String, id: Int)]
    let byteIDs: [Int]
    let addSpacePrefix: Bool

    public init(gguf: GGUFTokenizer) throws {
        guard gguf.model == "llama" else {
            throw RuntimeError.unsupported("GGUF tokenizer model '\(gguf.model ?? "?")' is not a SentencePiece ('llama') vocabulary")
        }
        let tokens = gguf.tokens, types = gguf.tokenTypes
        let scores = gguf[GGUFTokenizer.Key.scores]?.arrayValue?.compactMap(\.doubleValue).map(Float.init) ?? []
        guard scores.count == tokens.count, types.count == tokens.count else {
            throw RuntimeError.badInput("SentencePiece vocabulary: \(tokens.count) tokens, \(scores.count) scores, \(types.count) token types")
        }
        var ids: [String: Int] = [:]
        for (id, t) in tokens.enumerated() { ids[t] = id }   // a later duplicate wins, as in llama.cpp's map
        let userDefinedType = Int(GGUFTokenizer.TokenType.userDefined.rawValue)
        let userDefined = tokens.indices.filter { types[$0] == userDefinedType && !tokens[$0].isEmpty }
            .map { (text: tokens[$0], id: $0) }
            .sorted { ($0.text.utf8.count, -$0.id) > ($1.text.utf8.count, -$1.id) }
        let unknown = gguf.id(of: .unknown) ?? ids["<unk>"]
        var byteIDs: [Int] = []
        for b in 0..<256 {
            let hex = String(format: "<0x%02X>", b)
            guard let id = ids[hex] ?? (b < 0x80 ? ids[String(UnicodeScalar(UInt8(b)))] : nil) ?? unknown else {
                throw RuntimeError.badInput("SentencePiece vocabulary has neither the byte token \(hex) nor an unknown token")
            }
            byteIDs.append(id)
        }
        self.ids = ids
        self.scores = scores
        self.userDefined = userDefined
        self.byteIDs = byteIDs
        addSpacePrefix = gguf["tokenizer.ggml.add_space_prefix"]?.boolValue ?? true
    }

    public func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        var afterSpecial = true
        for fragment in fragments(text) {
            switch fragment {
            case .token(let id):
                out.append(id)
                afterSpecial = true
            case .text(let s):
                let prefixed = (addSpacePrefix && afterSpecial ? " " : "") + s
                mergePieces(Array(prefixed.replacingOccurrences(of: " ", with: "\u{2581}").utf8), into: &out)
                afterSpecial = false
            }
        }
        return out
    }

    enum Fragment { case text(String), token(Int) }

    /// The text with every occurrence of a user-defined token cut out as that token, longest tokens first.
    func fragments(_ text: String) -> [Fragment] {
        var parts: [Fragment] = text.isEmpty ? [] : [.text(text)]
        for (token, id) in userDefined {
            parts = parts.flatMap { part -> [Fragment] in
                guard case .text(let s) = part, s.contains(token) else { return [part] }
                var split: [Fragment] = []
                for (i, piece) in s.components(separatedBy: token).enumerated() {
                    if i > 0 { split.append(.token(id)) }
                    if !piece.isEmpty { split.append(.text(piece)) }
                }
                return split
            }
        }
        return parts
    }

    struct Symbol { var start: Int, count: Int, prev: Int, next: Int }

    /// A candidate merge; the heap's maximum is the highest score, then the leftmost.
    struct Bigram: Comparable {
        var score: Float, left: Int, right: Int, size: Int
        static func < (a: Bigram, b: Bigram) -> Bool { a.score < b.score || (a.score == b.score && a.left > b.left) }
    }

    func mergePieces(_ bytes: [UInt8], into out: inout [Int]) {
        guard !bytes.isEmpty else { return }
        var symbols: [Symbol] = []
        var offset = 0
        while offset < bytes.count {
            let n = Swift.min(Self.utf8Length(bytes[offset]), bytes.count - offset)
            symbols.append(Symbol(start: offset, count: n, prev: symbols.count - 1, next: offset + n == bytes.count ? -1 : symbols.count + 1))
            offset += n
        }
        func token(_ start: Int, _ count: Int) -> Int? { ids[String(decoding: bytes[start..<start + count], as: UTF8.self)] }
        var queue = Heap<Bigram>()
        func addBigram(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let size = symbols[left].count + symbols[right].count
            guard let id = token(symbols[left].start, size) else { return }
            queue.insert(Bigram(score: scores[id], left: left, right: right, size: size))
        }
        for i in symbols.indices.dropFirst() { addBigram(i - 1, i) }
        while let b = queue.popMax() {
            let (l, r) = (symbols[b.left], symbols[b.right])
            // One side merged since this pair was queued.
            guard l.count > 0, r.count > 0, l.count + r.count == b.size else { continue }
            symbols[b.left].count += r.count
            symbols[b.right].count = 0
            symbols[b.left].next = r.next
            if r.next >= 0 { symbols[r.next].prev = b.left }
            addBigram(symbols[b.left].prev, b.left)
            addBigram(b.left, symbols[b.left].next)
        }
        var i = 0
        while i != -1 {
            let s = symbols[i]
            // Every merge made a token, so only a single character can miss: its bytes then.
            if let id = token(s.start, s.count) { out.append(id) } else { out += bytes[s.start..<s.start + s.count].map { byteIDs[Int($0)] } }
            i = s.next
        }
    }

    /// The length of the UTF-8 sequence a lead byte starts (1 for a stray continuation byte, as llama.cpp counts).
    static func utf8Length(_ lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}
