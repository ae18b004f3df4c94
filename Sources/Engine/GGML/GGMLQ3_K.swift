// PLACEHOLDER: replaced by the real unit.
public enum GGMLQ3_K: GGMLBlockCodec {
    public static let blockElements = 256
    public static let blockBytes = 110
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLQ3_K not implemented") }
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLQ3_K not implemented") }
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) { fatalError("GGMLQ3_K not implemented") }
}
