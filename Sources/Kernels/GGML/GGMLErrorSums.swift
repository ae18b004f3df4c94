import KernelsAVX2

public extension GGMLType {
    /// ErrorSums.of(x, y) for y the dequantization of `blocks` (`count` weights of whole rows), the same bits, from
    /// a loop that never writes y where there is one (Q4_0 on AVX2: KernelsAVX2's q4_0.c); nil for the others, whose
    /// callers decode and call ErrorSums.of.
    func fusedErrorSums(_ x: UnsafePointer<Float>, blocks: UnsafeRawPointer, count: Int) -> (source: Double, error: Double, maxAbs: Float)? {
        guard self == .q4_0, AVX2Kernels.available else { return nil }
        var source = 0.0, error = 0.0, maxAbs: Float = 0
        uqcit_avx2_q4_0_error_sums(x, blocks.assumingMemoryBound(to: UInt8.self), count, &source, &error, &maxAbs)
        return (source, error, maxAbs)
    }
}
