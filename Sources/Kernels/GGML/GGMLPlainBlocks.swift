/// Formats whose blocks without importance are llama.cpp's reference blocks (Q8_0 and the legacy formats: their
/// refit needs an importance), quantized a row at a time by one loop instead of a call per block. A format with a
/// faster loop that gives the same bytes replaces it (Q4_0 and Q8_0 on AVX2).
protocol GGMLPlainBlocks: GGMLBlockCodec {
    static func quantizePlainBlocks(_ x: UnsafePointer<Float>, blocks: Int, into out: UnsafeMutableRawPointer)
}
