// PLACEHOLDER: replaced by the real unit.
public enum GGMLF32: GGMLBlockCodec {
    public static let blockElements = 1
    public static let blockBytes = 4
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLF32 not implemented") }
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLF32 not implemented") }
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) { fatalError("GGMLF32 not implemented") }
}
