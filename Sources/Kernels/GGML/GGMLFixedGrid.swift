/// A block format seen with its scales fixed: once a search has chosen a block's scales (and mins), weight e of
/// sub-block j can only take the values a_j * levels[c] - b_j, c in 0..<levels.count (levels ascending), exactly as
/// dequantize computes them. GPTQ rounds a block's columns one at a time inside that grid (codes move, scales
/// stay) and writes the codes back.
public protocol GGMLFixedGridCodec: GGMLBlockCodec {
    /// Weights per sub-block sharing one (a, b).
    static var gridSubBlockSize: Int { get }
    static var gridLevels: [Float] { get }
    /// a and b of each sub-block: blockElements / gridSubBlockSize values each.
    static func gridMaps(_ block: UnsafeRawPointer, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>)
    /// Replaces every weight's code with `codes` (indices into gridLevels), leaving the scales as they are.
    static func setGridCodes(_ block: UnsafeMutableRawPointer, codes: UnsafePointer<UInt8>)
}

public extension GGMLType {
    /// The fixed-grid view of this type's blocks (every quantized type has one).
    var fixedGrid: (any GGMLFixedGridCodec.Type)? { codec as? any GGMLFixedGridCodec.Type }
}

/// A 32-weight block whose one f16 scale d sits at offset 0, with no offset (Q4_0, Q5_0, Q8_0, IQ4_NL): one
/// sub-block, a = d, b = 0; each format gives its levels and how its codes are packed.
protocol GGMLScaledBlockGrid: GGMLFixedGridCodec {}

extension GGMLScaledBlockGrid {
    public static var gridSubBlockSize: Int { 32 }

    public static func gridMaps(_ block: UnsafeRawPointer, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>) {
        a[0] = GGMLF16.load(block); b[0] = 0
    }
}

extension KQuantGrid {
    public static var gridSubBlockSize: Int { subBlockSize }
    public static var gridLevels: [Float] { codeRange.map(Float.init) }

    public static func gridMaps(_ block: UnsafeRawPointer, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>) {
        withValues { v in
            unpack(block, into: &v)
            for j in 0..<(256 / subBlockSize) {
                a[j] = v.d * v.scales[j]
                b[j] = v.dmin * v.mins[j]
            }
        }
    }

    public static func setGridCodes(_ block: UnsafeMutableRawPointer, codes: UnsafePointer<UInt8>) {
        withValues { v in
            unpack(block, into: &v)
            let lo = Float(codeRange.lowerBound)
            for e in 0..<256 { v.codes[e] = lo + Float(codes[e]) }
            pack(v, into: block)
        }
    }

    private static func withValues(_ body: (inout KQuantBlockValues) -> Void) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256 + 32) { f in
            var v = KQuantBlockValues(codes: f.baseAddress!, scales: f.baseAddress! + 256, mins: f.baseAddress! + 272)
            body(&v)
        }
    }
}
