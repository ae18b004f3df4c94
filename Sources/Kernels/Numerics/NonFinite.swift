/// Where the first NaN or infinity of a buffer is. Every value read from a source passes through this, so it runs
/// as whole vectors: the all-ones exponent of each value is folded into one maximum, and only a buffer that has
/// one is searched for it.
public enum NonFinite {
    public static func firstIndex(_ x: UnsafeBufferPointer<Float>) -> Int? {
        let bits = UnsafeRawBufferPointer(x).bindMemory(to: UInt32.self)
        var exponents: UInt32 = 0
        for b in bits { exponents = max(exponents, b & 0x7F80_0000) }
        guard exponents == 0x7F80_0000 else { return nil }
        return x.firstIndex { !$0.isFinite }
    }
}
