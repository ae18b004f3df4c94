// PLACEHOLDER: replaced by the real unit.
public enum GGMLBF16: GGMLBlockCodec {
    public static let blockElements = 1
    public static let blockBytes = 2
    public static func quantizeReference(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLBF16 not implemented") }
    public static func quantize(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) { fatalError("GGMLBF16 not implemented") }
    public static func dequantize(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) { fatalError("GGMLBF16 not implemented") }
}
