// PLACEHOLDER: replaced by the real unit.
public enum GGMLQ6_K: GGMLBlockCodec {
    public static let blockElements = 256
    public static let blockBytes = 210
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLQ6_K not implemented") }
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLQ6_K not implemented") }
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) { fatalError("GGMLQ6_K not implemented") }
}
