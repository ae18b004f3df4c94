/// Pieces of the k-quant block layouts that several types share (ggml-common.h, ggml-quants.c): the f16 fields,
/// llama.cpp's rounding, and the 6-bit packed scales and mins of Q4_K and Q5_K.
enum KQuantScales {
    /// Weights per super-block (ggml's QK_K).
    static let superBlock = 256

    /// llama.cpp's nearest_int: adding 1.5 * 2^23 leaves round-half-even(value) in the low mantissa bits. Kept
    /// bit for bit (rather than `rounded()`) so the reference paths choose exactly llama.cpp's codes, including
    /// on the out-of-range and non-finite inputs where the trick wraps instead of trapping.
    @inline(__always)
    static func nearestInt(_ value: Float) -> Int32 {
        let bits = Int32(bitPattern: (value + 12_582_912).bitPattern)
        return (bits & 0x007F_FFFF) &- 0x0040_0000
    }

    @inline(__always)
    static func loadF16(_ block: UnsafeRawPointer, at offset: Int) -> Float {
        HalfPrecision.f16ToFloat(block.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian)
    }

    /// Rounds `value` to f16, stores it, and returns the value a reader will see.
    @inline(__always)
    @discardableResult
    static func storeF16(_ value: Float, _ block: UnsafeMutableRawPointer, at offset: Int) -> Float {
        let bits = HalfPrecision.floatToF16(value)
        block.storeBytes(of: bits.littleEndian, toByteOffset: offset, as: UInt16.self)
        return HalfPrecision.f16ToFloat(bits)
    }

    /// Scale and min of sub-block `j` (0..<8) from the 12 packed bytes of Q4_K and Q5_K (get_scale_min_k4):
    /// bytes 0-3 hold scales 0-3 and bytes 4-7 mins 0-3 in their low six bits; sub-blocks 4-7 keep their low
    /// nibbles in bytes 8-11 and their top two bits in the spare top bits of bytes 0-7.
    @inline(__always)
    static func scaleMin(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        let b = q.assumingMemoryBound(to: UInt8.self)
        if j < 4 { return (b[j] & 63, b[j + 4] & 63) }
        return ((b[j + 4] & 0xF) | ((b[j - 4] >> 6) << 4), (b[j + 4] >> 4) | ((b[j] >> 6) << 4))
    }

    /// Packs eight 6-bit scales and mins (each 0...63) into the 12 bytes `scaleMin` reads.
    static func packScaleMins(scales: UnsafePointer<UInt8>, mins: UnsafePointer<UInt8>, into q: UnsafeMutableRawPointer) {
        let b = q.assumingMemoryBound(to: UInt8.self)
        for j in 0..<4 {
            b[j] = scales[j] | ((scales[j + 4] >> 4) << 6)
            b[j + 4] = mins[j] | ((mins[j + 4] >> 4) << 6)
            b[j + 8] = (scales[j + 4] & 0xF) | ((mins[j + 4] & 0xF) << 4)
        }
    }

    /// Q3_K's twelve bytes of sixteen 6-bit scales: low nibbles of scales 0-7 in bytes 0-7, of scales 8-15 in
    /// their high nibbles, and the top two bits of scale j in byte 8 + j % 4 at bit 2 * (j / 4).
    @inline(__always)
    static func q3Scale(_ j: Int, _ q: UnsafeRawPointer) -> UInt8 {
        let b = q.assumingMemoryBound(to: UInt8.self)
        let low = j < 8 ? b[j] & 0xF : b[j - 8] >> 4
        return low | (((b[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)
    }

    /// Packs sixteen 6-bit values (0...63, the scale plus 32) the way `q3Scale` reads them.
    static func packQ3Scales(_ scales: UnsafePointer<UInt8>, into q: UnsafeMutableRawPointer) {
        let b = q.assumingMemoryBound(to: UInt8.self)
        for j in 0..<12 { b[j] = 0 }
        for j in 0..<16 {
            let l = scales[j]
            if j < 8 { b[j] = l & 0xF } else { b[j - 8] |= (l & 0xF) << 4 }
            b[8 + j % 4] |= (l >> 4) << (2 * (j / 4))
        }
    }

    /// Q4_K's and Q5_K's first 16 bytes (d, dmin, packed scales and mins) into the search's unpacked block.
    static func unpackScaleMinHeader(_ block: UnsafeRawPointer, into v: inout KQuantBlockValues) {
        v.d = loadF16(block, at: 0)
        v.dmin = loadF16(block, at: 2)
        for j in 0..<8 {
            let (sc, m) = scaleMin(j, block + 4)
            v.scales[j] = Float(sc)
            v.mins[j] = Float(m)
        }
    }

    static func packScaleMinHeader(_ v: KQuantBlockValues, into block: UnsafeMutableRawPointer) {
        storeF16(v.d, block, at: 0)
        storeF16(v.dmin, block, at: 2)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { bytes in
            let scales = bytes.baseAddress!, mins = scales + 8
            for j in 0..<8 { scales[j] = UInt8(v.scales[j]); mins[j] = UInt8(v.mins[j]) }
            packScaleMins(scales: scales, mins: mins, into: block + 4)
        }
    }
}
