/// Seeds derived from stable names (tensor names, task ids), so that any worker, on any attempt,
/// makes the same random choices for the same tensor.
public enum SeedDerivation {
    /// FNV-1a 64 of the UTF-8 bytes of `name`, mixed with `salt` through the SplitMix64 finalizer.
    public static func seed(for name: String, salt: UInt64 = 0) -> UInt64 {
        var mixer = SplitMix64(seed: fnv1a64(name) ^ SplitMix64.mix(salt))
        return mixer.next()
    }

    /// FNV-1a, 64-bit variant (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
    public static func fnv1a64(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
