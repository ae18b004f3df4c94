/// The legacy formats' reference quantizers (Q4_0, Q4_1, Q5_0, Q5_1) share their shape: a plain fit without
/// importance, and an importance-weighted fit whose weights are importance·sqrt(sigma2 + x²). llama.cpp takes
/// sigma2 over the whole row, so only a row-level call reproduces its bytes; one block alone uses its own.
protocol GGMLLegacyReference: GGMLPlainBlocks {
    static func referencePlain(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer)
    static func referenceWeighted(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, sigma2: Float, into block: UnsafeMutableRawPointer)
}

extension GGMLLegacyReference {
    static func quantizePlainBlocks(_ x: UnsafePointer<Float>, blocks: Int, into out: UnsafeMutableRawPointer) {
        referencePlainBlocks(x, blocks: blocks, into: out)
    }

    /// `blocks` consecutive blocks by referencePlain.
    static func referencePlainBlocks(_ x: UnsafePointer<Float>, blocks: Int, into out: UnsafeMutableRawPointer) {
        for b in 0..<blocks { referencePlain(x + blockElements * b, into: out + blockBytes * b) }
    }

    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        guard let importance else { return referencePlain(x, into: block) }
        referenceWeighted(x, importance: importance, sigma2: GGMLReferenceSearch.meanSquare(x, count: blockElements), into: block)
    }

    /// A row of `columns` weights (a whole number of blocks) exactly as llama.cpp's quantize_q4_0 (etc.) writes it.
    public static func quantizeReferenceRow(_ x: UnsafePointer<Float>, columns: Int, importance: UnsafePointer<Float>?,
                                            into out: UnsafeMutableRawPointer) {
        guard let importance else { return quantizePlainBlocks(x, blocks: columns / blockElements, into: out) }
        let sigma2 = GGMLReferenceSearch.meanSquare(x, count: columns)
        for b in 0..<(columns / blockElements) {
            referenceWeighted(x + blockElements * b, importance: importance + blockElements * b, sigma2: sigma2, into: out + blockBytes * b)
        }
    }
}
