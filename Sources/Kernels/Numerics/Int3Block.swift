/// int3 codes: a little-endian bit stream, code i in bits 3i..3i+2, so 8 codes fill exactly 3 bytes.
/// A partial last byte is zero-padded.
public struct Int3Block: Sendable {
    public static func packedBytes(count: Int) -> Int {
        (3 * count + 7) / 8
    }

    public static func pack(codes: UnsafeBufferPointer<UInt8>, into packed: UnsafeMutableBufferPointer<UInt8>) {
        let count = codes.count
        precondition(packed.count >= packedBytes(count: count))
        let octets = count / 8
        for i in 0..<octets {
            let stream = gather(codes, from: 8 * i, count: 8)
            packed[3 * i] = UInt8(truncatingIfNeeded: stream)
            packed[3 * i + 1] = UInt8(truncatingIfNeeded: stream >> 8)
            packed[3 * i + 2] = UInt8(truncatingIfNeeded: stream >> 16)
        }
        let tail = count - 8 * octets
        if tail > 0 {
            let stream = gather(codes, from: 8 * octets, count: tail)
            for k in 0..<packedBytes(count: tail) {
                packed[3 * octets + k] = UInt8(truncatingIfNeeded: stream >> (8 * k))
            }
        }
    }

    public static func unpack(packed: UnsafeBufferPointer<UInt8>, count: Int, into codes: UnsafeMutableBufferPointer<UInt8>) {
        precondition(packed.count >= packedBytes(count: count) && codes.count >= count)
        let octets = count / 8
        for i in 0..<octets {
            let stream = UInt32(packed[3 * i]) | UInt32(packed[3 * i + 1]) << 8 | UInt32(packed[3 * i + 2]) << 16
            scatter(stream, into: codes, from: 8 * i, count: 8)
        }
        let tail = count - 8 * octets
        if tail > 0 {
            var stream: UInt32 = 0
            for k in 0..<packedBytes(count: tail) {
                stream |= UInt32(packed[3 * octets + k]) << (8 * k)
            }
            scatter(stream, into: codes, from: 8 * octets, count: tail)
        }
    }

    /// Up to 8 codes into the low 24 bits of a word, first code lowest.
    @inline(__always)
    private static func gather(_ codes: UnsafeBufferPointer<UInt8>, from start: Int, count: Int) -> UInt32 {
        var stream: UInt32 = 0
        for k in 0..<count {
            stream |= UInt32(codes[start + k] & 7) << (3 * k)
        }
        return stream
    }

    @inline(__always)
    private static func scatter(_ stream: UInt32, into codes: UnsafeMutableBufferPointer<UInt8>, from start: Int, count: Int) {
        for k in 0..<count {
            codes[start + k] = UInt8(truncatingIfNeeded: (stream >> (3 * k)) & 7)
        }
    }
}
