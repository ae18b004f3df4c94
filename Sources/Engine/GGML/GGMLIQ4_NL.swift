// PLACEHOLDER: replaced by the real unit.
public enum GGMLIQ4_NL: GGMLBlockCodec {
    public static let blockElements = 32
    public static let blockBytes = 18
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLIQ4_NL not implemented") }
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLIQ4_NL not implemented") }
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) { fatalError("GGMLIQ4_NL not implemented") }
}
