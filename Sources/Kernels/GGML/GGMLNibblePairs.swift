/// The 32-weight code layout of Q4_0, Q4_1, IQ4_NL and IQ4_XS (and the low bits of Q5_0 and Q5_1): byte j holds
/// code j in its low nibble and code j + 16 in its high one.
enum GGMLNibblePairs {
    /// Writes 16 bytes at `qs` from 32 codes (only the low 4 bits of each).
    @inline(__always)
    static func store(_ codes: UnsafePointer<UInt8>, _ qs: UnsafeMutableRawPointer) {
        for j in 0..<16 { qs.storeBytes(of: codes[j] & 0x0F | (codes[j + 16] & 0x0F) << 4, toByteOffset: j, as: UInt8.self) }
    }
}
