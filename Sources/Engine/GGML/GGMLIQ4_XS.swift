// PLACEHOLDER: replaced by the real unit.
public enum GGMLIQ4_XS: GGMLBlockCodec {
    public static let blockElements = 256
    public static let blockBytes = 136
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLIQ4_XS not implemented") }
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLIQ4_XS not implemented") }
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) { fatalError("GGMLIQ4_XS not implemented") }
}
