/// int2 codes: four 2-bit levels per byte, the first in the lowest bits.
public struct Int2Block: Sendable {
    public static func packedBytes(count: Int) -> Int {
        (count + 3) / 4
    }

    public static func pack(codes: UnsafeBufferPointer<UInt8>, into packed: UnsafeMutableBufferPointer<UInt8>) {
        let count = codes.count
        precondition(packed.count >= packedBytes(count: count))
        let quads = count / 4
        for i in 0..<quads {
            let c = 4 * i
            packed[i] = (codes[c] & 3) | (codes[c + 1] & 3) << 2 | (codes[c + 2] & 3) << 4 | codes[c + 3] << 6
        }
        let tail = count - 4 * quads
        if tail > 0 {
            var byte: UInt8 = 0
            for k in 0..<tail {
                byte |= (codes[4 * quads + k] & 3) << (2 * k)
            }
            packed[quads] = byte
        }
    }

    public static func unpack(packed: UnsafeBufferPointer<UInt8>, count: Int, into codes: UnsafeMutableBufferPointer<UInt8>) {
        precondition(packed.count >= packedBytes(count: count) && codes.count >= count)
        let quads = count / 4
        for i in 0..<quads {
            let byte = packed[i]
            let c = 4 * i
            codes[c] = byte & 3
            codes[c + 1] = (byte >> 2) & 3
            codes[c + 2] = (byte >> 4) & 3
            codes[c + 3] = byte >> 6
        }
        let tail = count - 4 * quads
        if tail > 0 {
            let byte = packed[quads]
            for k in 0..<tail {
                codes[4 * quads + k] = (byte >> (2 * k)) & 3
            }
        }
    }
}
