/// The storage formats a weight group can be given.
public enum QuantFormat: String, Codable, Sendable, CaseIterable {
    /// The source's own 16-bit values (f16 or bf16), kept bit-exact.
    case fp16
    /// Symmetric 8-bit by default: w ≈ q * d, q in -127...127.
    case int8
    /// Asymmetric 4-, 3- and 2-bit by default: w ≈ q * d + m, q in 0...2^bits - 1.
    case int4, int3, int2

    public init?(name: String) {
        self.init(rawValue: name)
    }

    public var bits: Int {
        switch self {
        case .fp16: 16
        case .int8: 8
        case .int4: 4
        case .int3: 3
        case .int2: 2
        }
    }

    /// Group sizes of the design (section 2, Quantizers); 0 for fp16, which has no groups.
    /// int2 uses smaller groups because its 4 levels leave the scale to do most of the work.
    public var defaultGroupSize: Int {
        switch self {
        case .fp16: 0
        case .int8, .int4, .int3: 128
        case .int2: 64
        }
    }

    /// The default; GroupQuantizer can override it (uniform baselines use symmetric int4).
    public var isSymmetric: Bool {
        self == .int8
    }

    /// Largest |q| for symmetric quantization (2^(bits-1) - 1: 127, 7, 3, 1), largest code for asymmetric
    /// (2^bits - 1); 0 for fp16.
    public func maxCode(symmetric: Bool) -> Int {
        guard self != .fp16 else { return 0 }
        return symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1
    }

    /// A symmetric level q is stored as UInt8(bitPattern: Int8(q)) &+ offset: int8 keeps q's two's-complement
    /// byte, narrower formats store q + 2^(bits-1), an unsigned level their packing can hold (as ggml's Q4_0).
    public var symmetricCodeOffset: UInt8 {
        self == .int8 || self == .fp16 ? 0 : UInt8(1 << (bits - 1))
    }

    /// Bytes taken by `count` values of this format, packed; fp16 takes 2 bytes a value.
    public func packedBytes(count: Int) -> Int {
        switch self {
        case .fp16: 2 * count
        case .int8: Int8Block.packedBytes(count: count)
        case .int4: Int4Block.packedBytes(count: count)
        case .int3: Int3Block.packedBytes(count: count)
        case .int2: Int2Block.packedBytes(count: count)
        }
    }

    /// Packs `codes` (one level per byte) into the format's bit layout; not for fp16.
    public func pack(codes: UnsafeBufferPointer<UInt8>, into packed: UnsafeMutableBufferPointer<UInt8>) {
        switch self {
        case .fp16: preconditionFailure("fp16 values are not packed codes")
        case .int8: Int8Block.pack(codes: codes, into: packed)
        case .int4: Int4Block.pack(codes: codes, into: packed)
        case .int3: Int3Block.pack(codes: codes, into: packed)
        case .int2: Int2Block.pack(codes: codes, into: packed)
        }
    }

    /// Unpacks `count` codes, one level per byte; not for fp16.
    public func unpack(packed: UnsafeBufferPointer<UInt8>, count: Int, into codes: UnsafeMutableBufferPointer<UInt8>) {
        switch self {
        case .fp16: preconditionFailure("fp16 values are not packed codes")
        case .int8: Int8Block.unpack(packed: packed, count: count, into: codes)
        case .int4: Int4Block.unpack(packed: packed, count: count, into: codes)
        case .int3: Int3Block.unpack(packed: packed, count: count, into: codes)
        case .int2: Int2Block.unpack(packed: packed, count: count, into: codes)
        }
    }
}
