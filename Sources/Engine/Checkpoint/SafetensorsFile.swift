/// An opened, validated safetensors file: its header, and reads of any tensor's bytes or rows.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let header: SafetensorsHeader
    public let file: PositionalFile
    private let byName: [String: Int]

    public init(path: String) throws(CheckpointError) {
        self.path = path
        file = try PositionalFile(path: path)
        var prefix = try file.read(offset: 0, count: min(8, file.size))
        let needed = SafetensorsHeader.prefixLength(prefix, fileSize: file.size)
        if needed > prefix.count { prefix = try file.read(offset: 0, count: needed) }
        header = try SafetensorsHeader.parse(prefix: prefix, fileSize: file.size, file: path)
        var names: [String: Int] = [:]
        for (i, t) in header.tensors.enumerated() { names[t.name] = i }
        byName = names
    }

    public var tensors: [TensorEntry] { header.tensors }
    public func entry(_ name: String) -> TensorEntry? { byName[name].map { header.tensors[$0] } }

    /// The header as stored (length prefix included): what identifies the file's layout.
    public func headerBytes() throws(CheckpointError) -> [UInt8] { try file.read(offset: 0, count: header.dataStart) }

    /// The raw bytes of a tensor as stored, or of a byte range within it.
    public func rawBytes(_ t: TensorEntry, range: Range<Int>? = nil) throws(CheckpointError) -> [UInt8] {
        let r = range ?? 0..<(t.end - t.begin)
        guard r.lowerBound >= 0 && r.upperBound <= t.end - t.begin else {
            throw .unreadable(file: path, reason: "bytes \(r) of tensor '\(t.name)' lie outside its \(t.end - t.begin) bytes")
        }
        return try file.read(offset: header.dataStart + t.begin + r.lowerBound, count: r.count)
    }

    /// A tensor's raw bytes in pieces, for copying tensors of any size.
    public func forEachRawChunk(_ t: TensorEntry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try file.forEachChunk(offset: header.dataStart + t.begin, count: t.end - t.begin, body)
    }

    /// Decodes rows [start, start + count) of the tensor's 2-D view into `out` (count * columns floats),
    /// refusing NaN and Inf with an error that names the tensor, row and column.
    public func readRows(_ t: TensorEntry, start: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws(CheckpointError) {
        guard t.dtype.isSupportedFloat else { throw .unsupportedDType(file: path, tensor: t.name, dtype: t.dtype.rawValue) }
        let cols = t.columns
        guard start >= 0 && count >= 0 && start <= t.rows - count && out.count >= count * cols else {
            throw .unreadable(file: path, reason: "rows \(start)..<\(start + count) of tensor '\(t.name)' lie outside its \(t.rows) rows")
        }
        let n = count * cols
        let raw = try file.read(offset: header.dataStart + t.begin + start * cols * t.dtype.byteSize, count: n * t.dtype.byteSize)
        let nonFinite: Int? = raw.withUnsafeBytes { raw in
            // The same little-endian widenings as GGUF's F32, BF16 and F16 tensors, a whole range at once.
            guard let bytes = raw.baseAddress, let y = out.baseAddress, let type = t.dtype.floatType else { return nil }
            return type.dequantizeRowsFindingNonFinite(bytes, rows: 1, columns: n, into: y)
        }
        if let i = nonFinite {
            throw .nonFinite(file: path, tensor: t.name, row: start + i / max(cols, 1), column: i % max(cols, 1))
        }
    }

    public func readRows(_ t: TensorEntry, start: Int, count: Int) throws(CheckpointError) -> [Float] {
        // Every element is written by readRows or the array is dropped with its error: no zero fill.
        try [Float](unsafeUninitializedCapacity: count * t.columns) { (p, initialized) throws(CheckpointError) in
            try readRows(t, start: start, count: count, into: p)
            initialized = p.count
        }
    }
}
