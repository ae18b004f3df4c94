// PLACEHOLDER: replaced by the real unit.
public enum GGMLQ5_1: GGMLBlockCodec {
    public static let blockElements = 32
    public static let blockBytes = 24
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLQ5_1 not implemented") }
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLQ5_1 not implemented") }
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) { fatalError("GGMLQ5_1 not implemented") }
}
