import Engine

extension BPETokenizer {
    /// llama.cpp's "gpt2" vocabulary from a GGUF's tokenizer metadata: tokens, merges ("left right", split at the
    /// first space after the first character, as llama.cpp does), control and user-defined tokens as added tokens,
    /// and the pre-tokenizer named by tokenizer.ggml.pre ("default" when absent, which is refused).
    public init(gguf: GGUFTokenizer) throws {
        guard gguf.model == "gpt2" else {
            throw RuntimeError.unsupported("GGUF tokenizer model '\(gguf.model ?? "?")' is not byte-level BPE ('gpt2')")
        }
        guard let mergeLines = gguf.merges else { throw RuntimeError.badInput("GGUF tokenizer has no tokenizer.ggml.merges") }
        let merges = try mergeLines.enumerated().map { (rank, line) -> (String, String) in
            guard let first = line.unicodeScalars.first,
                  let space = line[line.index(after: line.startIndex)...].firstIndex(of: " "), first != " " else {
                throw RuntimeError.badInput("tokenizer.ggml.merges[\(rank)] '\(line)' is not two tokens separated by a space")
            }
            return (String(line[..<space]), String(line[line.index(after: space)...]))
        }
        let tokens = gguf.tokens
        let types = gguf.tokenTypes
        var added: [String: Int] = [:]
        let addedTypes = [GGUFTokenizer.TokenType.control, .userDefined].map { Int($0.rawValue) }
        for (id, type) in types.enumerated() where addedTypes.contains(type) {
            if added[tokens[id]] == nil, !tokens[id].isEmpty { added[tokens[id]] = id }
        }
        let (patterns, ignoresMerges) = try BPEPreTokenizer.llamaCpp(pre: gguf.pre ?? "default")
        try self.init(tokens: tokens, merges: merges, addedTokens: added, preTokenizer: BPEPreTokenizer(patterns: patterns), ignoresMerges: ignoresMerges)
    }
}
