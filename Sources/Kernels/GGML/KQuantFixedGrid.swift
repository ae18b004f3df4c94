/// A k-quant block's grid with its scales fixed: the sub-block scales and mins a search chose for the whole block,
/// inside which GPTQ then rounds one column at a time (codes move, scales stay). Sub-block j decodes code q as
/// a_j * q - b_j, exactly as the type's dequantize computes it.
public enum KQuantFixedGrid {
    /// Weights per sub-block and the code range of a k-quant type; nil for the other types.
    public static func shape(of type: GGMLType) -> (subBlockSize: Int, codes: ClosedRange<Int32>)? {
        guard let k = type.codec as? any KQuantGrid.Type else { return nil }
        return (k.subBlockSize, k.codeRange)
    }

    /// The affine map of each sub-block of `block`: `a` and `b` get 256 / subBlockSize values.
    public static func affine(_ type: GGMLType, block: UnsafeRawPointer, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>) {
        guard let k = type.codec as? any KQuantGrid.Type else { preconditionFailure("\(type.rawValue) is not a k-quant type") }
        withValues { v in
            k.unpack(block, into: &v)
            for j in 0..<(256 / k.subBlockSize) {
                a[j] = v.d * v.scales[j]
                b[j] = v.dmin * v.mins[j]
            }
        }
    }

    /// Replaces the 256 codes of `block` (each inside the type's code range), keeping its scales.
    public static func setCodes(_ type: GGMLType, block: UnsafeMutableRawPointer, codes: UnsafePointer<Float>) {
        guard let k = type.codec as? any KQuantGrid.Type else { preconditionFailure("\(type.rawValue) is not a k-quant type") }
        withValues { v in
            k.unpack(block, into: &v)
            v.codes.update(from: codes, count: 256)
            k.pack(v, into: block)
        }
    }

    private static func withValues(_ body: (inout KQuantBlockValues) -> Void) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256 + 32) { f in
            var v = KQuantBlockValues(codes: f.baseAddress!, scales: f.baseAddress! + 256, mins: f.baseAddress! + 272)
            body(&v)
        }
    }
}
