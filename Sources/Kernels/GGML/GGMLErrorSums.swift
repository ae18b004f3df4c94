import KernelsAVX2

public extension GGMLType {
    /// ErrorSums.of(x, y) for y the dequantization of `blocks` (`count` weights of whole rows), the same bits, from
    /// a loop that never writes y where there is one (Q4_0 and Q8_0 on AVX2: KernelsAVX2's error_sums.c); nil for
    /// the others, whose callers decode and call ErrorSums.of.
    func fusedErrorSums(_ x: UnsafePointer<Float>, blocks: UnsafeRawPointer, count: Int) -> (source: Double, error: Double, maxAbs: Float)? {
        guard AVX2Kernels.available else { return nil }
        let loop: (UnsafePointer<Float>, UnsafePointer<UInt8>, Int, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Float>) -> Void
        switch self {
        case .q4_0: loop = uqcit_avx2_q4_0_error_sums
        case .q8_0: loop = uqcit_avx2_q8_0_error_sums
        default: return nil
        }
        var source = 0.0, error = 0.0, maxAbs: Float = 0
        loop(x, blocks.assumingMemoryBound(to: UInt8.self), count, &source, &error, &maxAbs)
        return (source, error, maxAbs)
    }
}
