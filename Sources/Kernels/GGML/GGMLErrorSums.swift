import KernelsAVX2

public extension GGMLType {
    /// ErrorSums.of(x, y) for y the dequantization of `blocks` (`count` weights of whole rows), the same bits, from
    /// a loop that never writes y where there is one (Q4_0 and Q8_0 on AVX2: KernelsAVX2's error_sums.c); nil for
    /// the others, whose callers decode and call ErrorSums.of.
    func fusedErrorSums(_ x: UnsafePointer<Float>, blocks: UnsafeRawPointer, count: Int) -> (source: Double, error: Double, maxAbs: Float)? {
        var sums = (source: 0.0, error: 0.0, maxAbs: Float(0))
        return addErrorSums(x, blocks: blocks, count: count, to: &sums) ? sums : nil
    }

    /// Whether `addErrorSums` has a fused loop for this type on this machine.
    var hasFusedErrorSums: Bool { fusedErrorLoop != nil }

    /// Adds the sums of `count` more weights to `sums` in ErrorSums.of's order: a tile measured in pieces that are
    /// whole 4096-weight runs (ErrorSums.run) gets the bits of one fusedErrorSums over it. False, leaving `sums`
    /// as they were, where the type has no fused loop.
    func addErrorSums(_ x: UnsafePointer<Float>, blocks: UnsafeRawPointer, count: Int,
                      to sums: inout (source: Double, error: Double, maxAbs: Float)) -> Bool {
        guard let loop = fusedErrorLoop else { return false }
        loop(x, blocks.assumingMemoryBound(to: UInt8.self), count, &sums.source, &sums.error, &sums.maxAbs)
        return true
    }

    private var fusedErrorLoop: ((UnsafePointer<Float>, UnsafePointer<UInt8>, Int, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>,
                                  UnsafeMutablePointer<Float>) -> Void)? {
        guard AVX2Kernels.available else { return nil }
        switch self {
        case .q4_0: return uqcit_avx2_q4_0_error_sums
        case .q8_0: return uqcit_avx2_q8_0_error_sums
        default: return nil
        }
    }
}
