/// An opened, validated GGUF file (v2 or v3): its metadata and tensor infos, read with pread from the header
/// only, and reads of any tensor's rows, dequantized to Float one tile at a time.
public final class GGUFFile: @unchecked Sendable {
    public static let magic: [UInt8] = Array("GGUF".utf8)
    public static let defaultAlignment = 32
    public static let alignmentKey = "general.alignment"

    public let path: String
    public let file: PositionalFile
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Where the data section starts: the end of the header, padded to the alignment.
    public let dataStart: Int
    private let keyIndex: [String: Int]
    private let tensorIndex: [String: Int]

    public init(path: String) throws(GGUFError) {
        self.path = path
        do { file = try PositionalFile(path: path) } catch { throw GGUFError.from(error, file: path) }
        var c = GGUFHeaderCursor(file: file)
        let header = GGUFSubject.header("file header")

        guard Array(try c.take(4, header, "magic")) == Self.magic else {
            throw .malformedHeader(file: path, reason: "does not start with the GGUF magic")
        }
        version = try c.integer(UInt32.self, header, "version")
        guard version == 2 || version == 3 else {
            throw .unsupported(file: path, reason: "GGUF version \(version) (versions 2 and 3 are read)")
        }
        let tensorCount = try c.length(header, "tensor count")
        let kvCount = try c.length(header, "metadata count")
        // The smallest KV is an 8-byte key length, a 1-byte key, a 4-byte type and a 1-byte value; the smallest
        // tensor info a name length, a 1-byte name, n_dims, one dimension, a type and an offset.
        guard kvCount <= c.remaining / 14 else {
            throw .malformedHeader(file: path, reason: "\(kvCount) metadata entries cannot fit in a \(file.size)-byte file")
        }
        guard tensorCount <= c.remaining / 33 else {
            throw .malformedHeader(file: path, reason: "\(tensorCount) tensors cannot fit in a \(file.size)-byte file")
        }

        var kvs: [(key: String, value: GGUFValue)] = []
        var keys: [String: Int] = [:]
        for i in 0..<kvCount {
            let key = try c.string(.header("metadata entry \(i)"), "key")
            guard !key.isEmpty else { throw .malformedHeader(file: path, reason: "metadata entry \(i) has an empty key") }
            guard keys[key] == nil else { throw .badKey(file: path, key: key, reason: "appears twice") }
            let type = try c.valueType(.key(key), "value type")
            keys[key] = kvs.count
            kvs.append((key, try c.value(type, .key(key))))
        }
        metadata = kvs
        keyIndex = keys

        var align = Self.defaultAlignment
        if let i = keys[Self.alignmentKey] {
            guard case .uint32(let a) = kvs[i].value, a > 0, a & (a - 1) == 0 else {
                throw .badKey(file: path, key: Self.alignmentKey, reason: "must be a uint32 power of two, not \(kvs[i].value)")
            }
            align = Int(a)
        }
        alignment = align

        var infos: [GGUFTensorInfo] = []
        var names: [String: Int] = [:]
        for i in 0..<tensorCount {
            let name = try c.string(.header("tensor info \(i)"), "name")
            guard TensorName.isSafe(name) else {
                throw .badTensor(file: path, tensor: name, reason: "name is not allowed (not a plain tensor name)")
            }
            guard names[name] == nil else { throw .badTensor(file: path, tensor: name, reason: "appears twice") }
            let subject = GGUFSubject.tensor(name)
            let nDims = try c.integer(UInt32.self, subject, "n_dims")
            guard (1...UInt32(GGUFTensorInfo.maxDimensions)).contains(nDims) else {
                throw .badTensor(file: path, tensor: name, reason: "n_dims \(nDims) (ggml tensors have 1 to \(GGUFTensorInfo.maxDimensions))")
            }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let d = try c.integer(UInt64.self, subject, "dimension")
                guard d <= UInt64(Int64.max) else { throw .badTensor(file: path, tensor: name, reason: "dimension \(d) is out of range") }
                dims.append(Int(d))
            }
            let typeID = try c.integer(UInt32.self, subject, "type")
            guard let type = GGMLType(ggmlID: typeID) else { throw .unknownTensorType(file: path, tensor: name, typeID: typeID) }
            if let problem = GGUFTensorInfo.shapeProblem(dimensions: dims, type: type) {
                throw .badTensor(file: path, tensor: name, reason: problem)
            }
            let offset = try c.integer(UInt64.self, subject, "offset")
            guard offset <= UInt64(file.size) else {
                throw .badTensor(file: path, tensor: name, reason: "data offset \(offset) lies outside the \(file.size)-byte file")
            }
            guard Int(offset) % align == 0 else {
                throw .badTensor(file: path, tensor: name, reason: "data offset \(offset) is not a multiple of the alignment \(align)")
            }
            names[name] = infos.count
            infos.append(GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset)))
        }
        tensorIndex = names

        let (padded, _) = c.offset.addingReportingOverflow(align - 1)
        dataStart = infos.isEmpty ? min(padded / align * align, file.size) : padded / align * align
        try Self.checkPlacement(infos, dataStart: dataStart, fileSize: file.size, path: path)
        tensors = infos
    }

    /// Every tensor's bytes lie inside the file, after the header, and no two tensors overlap.
    private static func checkPlacement(_ infos: [GGUFTensorInfo], dataStart: Int, fileSize: Int, path: String) throws(GGUFError) {
        var previousEnd = 0, previousName = ""
        for t in infos.sorted(by: { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }) {
            let (begin, o1) = dataStart.addingReportingOverflow(t.offset)
            let (end, o2) = begin.addingReportingOverflow(t.byteCount)
            guard !o1, !o2, end <= fileSize else {
                throw .badTensor(file: path, tensor: t.name, reason: "\(t.byteCount) bytes at data offset \(t.offset) run past the end of the \(fileSize)-byte file")
            }
            guard t.offset >= previousEnd else {
                throw .badTensor(file: path, tensor: t.name, reason: "data at offset \(t.offset) overlaps tensor '\(previousName)' (which ends at \(previousEnd))")
            }
            if t.byteCount > 0 { previousEnd = t.offset + t.byteCount; previousName = t.name }
        }
    }

    public subscript(key: String) -> GGUFValue? { keyIndex[key].map { metadata[$0].value } }
    public func tensor(named name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The header as stored, through the padding before the data section: what identifies the file's layout.
    public func forEachHeaderChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try file.forEachChunk(offset: 0, count: dataStart, body)
    }

    /// The stored bytes of rows [start, start + count).
    public func rawRows(_ t: GGUFTensorInfo, start: Int, count: Int) throws(GGUFError) -> [UInt8] {
        try checkRows(t, start: start, count: count)
        do { return try file.read(offset: dataStart + t.offset + start * t.rowBytes, count: count * t.rowBytes) }
        catch { throw GGUFError.from(error, file: path) }
    }

    /// The tensor's bytes as stored, in pieces, for copying tensors of any size.
    public func forEachRawChunk(_ t: GGUFTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try file.forEachChunk(offset: dataStart + t.offset, count: t.byteCount, body)
    }

    /// Decodes rows [start, start + count) (rows of ne[0] values) into `out` (count * columns floats), refusing
    /// NaN and Inf with an error naming the tensor, row and column.
    public func readRows(_ t: GGUFTensorInfo, start: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws(GGUFError) {
        let cols = t.columns
        guard out.count >= count * cols else {
            throw .badTensor(file: path, tensor: t.name, reason: "output holds \(out.count) values, \(count) rows need \(count * cols)")
        }
        let raw = try rawRows(t, start: start, count: count)
        guard count * cols > 0 else { return }
        let nonFinite = raw.withUnsafeBytes { t.type.dequantizeRowsFindingNonFinite($0.baseAddress!, rows: count, columns: cols, into: out.baseAddress!) }
        if let i = nonFinite {
            throw .nonFinite(file: path, tensor: t.name, row: start + i / max(cols, 1), column: i % max(cols, 1))
        }
    }

    public func readRows(_ t: GGUFTensorInfo, start: Int, count: Int) throws(GGUFError) -> [Float] {
        // Every element is written by readRows or the array is dropped with its error: no zero fill.
        try [Float](unsafeUninitializedCapacity: count * t.columns) { (p, initialized) throws(GGUFError) in
            try readRows(t, start: start, count: count, into: p)
            initialized = p.count
        }
    }

    private func checkRows(_ t: GGUFTensorInfo, start: Int, count: Int) throws(GGUFError) {
        guard tensor(named: t.name) == t else { throw .badTensor(file: path, tensor: t.name, reason: "not a tensor of this file") }
        guard start >= 0, count >= 0, start <= t.rows, count <= t.rows - start else {
            throw .badTensor(file: path, tensor: t.name, reason: "rows \(start)..<\(start + count) outside its \(t.rows) rows")
        }
    }
}
