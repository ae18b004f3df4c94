/// Conversions between Float and the two 16-bit float formats checkpoints use (IEEE binary16 and bfloat16).
public enum HalfPrecision {
    /// bfloat16 is the top half of a binary32, so widening is a shift.
    @inline(__always)
    public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Round-to-nearest-even to bfloat16. NaN stays NaN (quiet bit forced, so a payload living only in the
    /// dropped low bits cannot turn it into infinity); overflow rounds to infinity as IEEE requires.
    @inline(__always)
    public static func floatToBF16(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN {
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// Without F16C, Float16 -> Float is a software call (about 0.2 GB/s); a table lookup is ten times faster.
    @inline(__always)
    public static func f16ToFloat(_ bits: UInt16) -> Float {
        f16Table[Int(bits)]
    }

    /// Round-to-nearest-even to binary16 (overflow to infinity, NaN stays NaN). Float16(x) is a software call
    /// without F16C (libgcc's __truncsfhf2, 3% of a Q4_0 job); this is F. Giesen's branch-light conversion, equal to
    /// Float16(x) for every non-NaN Float (checked over all 2^32 bit patterns). NaNs take the call.
    @inline(__always)
    public static func floatToF16(_ x: Float) -> UInt16 {
        if x.isNaN { return Float16(x).bitPattern }
        var u = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: u >> 16) & 0x8000
        u &= 0x7FFF_FFFF
        let bits: UInt16
        if u >= 0x4780_0000 {
            bits = 0x7C00                                   // 65536 and up: infinity
        } else if u < 0x3880_0000 {
            // Below 2^-14, a subnormal half or zero: adding 0.5 puts the 10 mantissa bits at the bottom, rounded
            // to nearest even by the float addition itself.
            bits = UInt16(truncatingIfNeeded: (Float(bitPattern: u) + 0.5).bitPattern &- 0x3F00_0000)
        } else {
            // Rebias the exponent by (15 - 127) << 23 and round to nearest even on the 13 dropped bits.
            bits = UInt16(truncatingIfNeeded: (u &+ 0xC800_0FFF &+ (u >> 13) & 1) >> 13)
        }
        return bits | sign
    }

    /// Every binary16 bit pattern widened to Float; built once, 256 KiB.
    public static let f16Table: [Float] = (0...UInt16.max).map { Float(Float16(bitPattern: $0)) }
}
