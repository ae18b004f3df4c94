/// One array of a safetensors container, held in memory (tiles are small; whole layers are streamed instead).
public struct NamedArray: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.reduce(1, *) * dtype.byteSize == bytes.count, "array \(name): shape \(shape) does not match \(bytes.count) bytes")
        self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
    }

    public init(name: String, halfBits: [UInt16], bf16: Bool = false, shape: [Int]) {
        var b = [UInt8](repeating: 0, count: halfBits.count * 2)
        for (i, v) in halfBits.enumerated() { b[2 * i] = UInt8(v & 0xFF); b[2 * i + 1] = UInt8(v >> 8) }
        self.init(name: name, dtype: bf16 ? .bf16 : .f16, shape: shape, bytes: b)
    }

    public init(name: String, int32: [Int32], shape: [Int]) {
        var b = [UInt8](repeating: 0, count: int32.count * 4)
        for (i, v) in int32.enumerated() {
            let u = UInt32(bitPattern: v)
            for k in 0..<4 { b[4 * i + k] = UInt8((u >> (8 * UInt32(k))) & 0xFF) }
        }
        self.init(name: name, dtype: .i32, shape: shape, bytes: b)
    }

    public var halfBits: [UInt16] {
        (0..<bytes.count / 2).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
    }
    public var int32Values: [Int32] {
        (0..<bytes.count / 4).map { i in
            Int32(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * i + $1]) << (8 * UInt32($1)) })
        }
    }
}
