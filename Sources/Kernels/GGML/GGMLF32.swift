/// F32: one IEEE binary32 per weight, 4 bytes little-endian. Stored and read back bit for bit (NaN payloads too),
/// as ggml's F32 tensors are plain float arrays.
public enum GGMLF32: GGMLBlockCodec {
    public static let blockElements = 1
    public static let blockBytes = 4

    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        block.storeBytes(of: x.pointee.bitPattern.littleEndian, as: UInt32.self)
    }

    /// Every float is its own code: nothing to search.
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        quantizeReference(x, importance: importance, into: block)
    }

    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        y.pointee = Float(bitPattern: UInt32(littleEndian: block.loadUnaligned(as: UInt32.self)))
    }

    /// A whole row at once: one-weight blocks through the codec's dynamic dispatch cost a call per weight.
    static func dequantizeRow(_ bytes: UnsafeRawPointer, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
    }
}
