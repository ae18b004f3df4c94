/// An opened, validated safetensors file: its header and a memory map of its data.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let header: SafetensorsHeader
    public let map: MappedFile
    private let byName: [String: Int]

    public init(path: String) throws(CheckpointError) {
        self.path = path
        map = try MappedFile(path: path)
        let head = map.bytes(0, min(8, map.size))
        var prefix = Array(head)
        if prefix.count == 8 {
            var n = 0
            for k in 0..<8 { n |= Int(prefix[k]) << (8 * k) }
            if n <= SafetensorsHeader.maxHeaderBytes, 8 + n <= map.size { prefix = Array(map.bytes(0, 8 + n)) }
        }
        header = try SafetensorsHeader.parse(prefix: prefix, fileSize: map.size, file: path)
        var names: [String: Int] = [:]
        for (i, t) in header.tensors.enumerated() { names[t.name] = i }
        byName = names
    }

    public var tensors: [TensorEntry] { header.tensors }
    public func entry(_ name: String) -> TensorEntry? { byName[name].map { header.tensors[$0] } }

    /// The raw bytes of a tensor, as stored.
    public func rawBytes(_ t: TensorEntry) -> UnsafeRawBufferPointer {
        map.bytes(header.dataStart + t.begin, t.end - t.begin)
    }

    /// Decodes rows [start, start + count) of the tensor's 2-D view into `out` (count * columns floats),
    /// refusing NaN and Inf with an error that names the tensor, row and column.
    public func readRows(_ t: TensorEntry, start: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws(CheckpointError) {
        guard t.dtype.isSupportedFloat else { throw .unsupportedDType(file: path, tensor: t.name, dtype: t.dtype.rawValue) }
        let cols = t.columns
        precondition(start >= 0 && count >= 0 && start + count <= t.rows && out.count >= count * cols)
        let raw = map.bytes(header.dataStart + t.begin + start * cols * t.dtype.byteSize, count * cols * t.dtype.byteSize)
        let n = count * cols
        switch t.dtype {
        case .f32:
            for i in 0..<n { out[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
        case .bf16:
            for i in 0..<n { out[i] = HalfPrecision.bf16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
        case .f16:
            for i in 0..<n { out[i] = HalfPrecision.f16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
        default: break
        }
        for i in 0..<n where !out[i].isFinite {
            throw .nonFinite(file: path, tensor: t.name, row: start + i / max(cols, 1), column: i % max(cols, 1))
        }
    }

    public func readRows(_ t: TensorEntry, start: Int, count: Int) throws(CheckpointError) -> [Float] {
        var out = [Float](repeating: 0, count: count * t.columns)
        try out.withUnsafeMutableBufferPointer { (p) throws(CheckpointError) in try readRows(t, start: start, count: count, into: p) }
        return out
    }
}
