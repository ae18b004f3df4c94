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

    /// Round-to-nearest-even to binary16 (overflow to infinity, NaN stays NaN).
    @inline(__always)
    public static func floatToF16(_ x: Float) -> UInt16 {
        Float16(x).bitPattern
    }

    /// Every binary16 bit pattern widened to Float; built once, 256 KiB.
    public static let f16Table: [Float] = (0...UInt16.max).map { Float(Float16(bitPattern: $0)) }
}
