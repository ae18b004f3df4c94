/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, fully deterministic 64-bit generator.
/// Every random choice in the package (rotation signs, sample rows, synthetic data) draws from it,
/// so results depend only on seeds, never on time, worker or thread.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 output finalizer: a bijective avalanche of 64 bits.
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
