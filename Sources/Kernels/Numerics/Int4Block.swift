/// int4 codes: two 4-bit levels per byte, the first in the low nibble (as ggml's Q4_1 packs them).
public struct Int4Block: Sendable {
    public static func packedBytes(count: Int) -> Int {
        (count + 1) / 2
    }

    public static func pack(codes: UnsafeBufferPointer<UInt8>, into packed: UnsafeMutableBufferPointer<UInt8>) {
        let count = codes.count
        precondition(packed.count >= packedBytes(count: count))
        let pairs = count / 2
        for i in 0..<pairs {
            packed[i] = (codes[2 * i] & 0x0F) | (codes[2 * i + 1] << 4)
        }
        if count % 2 == 1 {
            packed[pairs] = codes[count - 1] & 0x0F
        }
    }

    public static func unpack(packed: UnsafeBufferPointer<UInt8>, count: Int, into codes: UnsafeMutableBufferPointer<UInt8>) {
        precondition(packed.count >= packedBytes(count: count) && codes.count >= count)
        let pairs = count / 2
        for i in 0..<pairs {
            let byte = packed[i]
            codes[2 * i] = byte & 0x0F
            codes[2 * i + 1] = byte >> 4
        }
        if count % 2 == 1 {
            codes[count - 1] = packed[pairs] & 0x0F
        }
    }
}
