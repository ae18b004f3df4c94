import Foundation

/// Opens a finished package and reconstructs any tensor's rows: dequantized, de-rotated (W^ = deq(Q) G) and
/// with the low-rank compensation added. Reads row ranges, so memory stays bounded by the rows asked for.
public final class PackageReader: @unchecked Sendable {
    public let path: String
    public let metadata: PackageMetadata
    public let config: [UInt8]
    /// Folder name -> its weights.quant and the tensors stored there, in folder order.
    public let folders: [(name: String, file: SafetensorsFile, tensors: [StoredTensor])]
    private var highColumnsCache: [String: [Int]] = [:]
    private let lock = NSLock()

    public init(path: String) throws {
        self.path = path
        let fm = FileManager.default
        guard let m = fm.contents(atPath: path + "/uqcit_metadata.json") else {
            throw PackageError.invalid(path: path, reason: "no uqcit_metadata.json: not a package, or the job that writes it has not finished")
        }
        metadata = try PackageJSON.decode(PackageMetadata.self, from: Array(m))
        guard let c = fm.contents(atPath: path + "/config.json") else { throw PackageError.invalid(path: path, reason: "config.json missing") }
        config = Array(c)
        let names = try fm.contentsOfDirectory(atPath: path + "/layers").sorted { Self.folderRank($0) < Self.folderRank($1) }
        var list: [(String, SafetensorsFile, [StoredTensor])] = []
        for n in names {
            let file = try SafetensorsFile(path: path + "/layers/" + n + "/weights.quant")
            guard let json = file.header.metadata[WeightsQuantMetadata.headerKey] else {
                throw PackageError.invalid(path: file.path, reason: "no '\(WeightsQuantMetadata.headerKey)' metadata in the header")
            }
            let meta = try PackageJSON.decode(WeightsQuantMetadata.self, from: Array(json.utf8))
            guard meta.format == WeightsQuantMetadata.formatName else {
                throw PackageError.invalid(path: file.path, reason: "format \(meta.format), this build reads \(WeightsQuantMetadata.formatName)")
            }
            list.append((n, file, meta.tensors))
        }
        folders = list
    }

    static func folderRank(_ f: String) -> (Int, Int) {
        if f == "embeddings" { return (0, 0) }
        if f.hasPrefix("layer_"), let n = Int(f.dropFirst(6)) { return (1, n) }
        return (2, 0)
    }

    public var tensors: [(folder: String, tensor: StoredTensor)] {
        folders.flatMap { f in f.tensors.map { (f.name, $0) } }
    }

    public func tensor(named name: String) -> (file: SafetensorsFile, tensor: StoredTensor)? {
        for f in folders { if let t = f.tensors.first(where: { $0.name == name }) { return (f.file, t) } }
        return nil
    }

    /// The layout with its high columns filled in from the `#columns` array.
    public func layout(of t: StoredTensor, in file: SafetensorsFile) -> QuantizedTensorLayout? {
        guard var layout = t.layout else { return nil }
        lock.lock(); defer { lock.unlock() }
        if let cached = highColumnsCache[t.name] { layout.highColumns = cached; return layout }
        if let e = file.entry(t.name + "#columns") {
            // Unreadable: no layout, and reading the tensor then fails naming its missing array.
            guard e.dtype == .i32, let bytes = try? file.rawBytes(e) else { return nil }
            layout.highColumns = NamedArray(name: e.name, dtype: e.dtype, shape: e.shape, bytes: bytes).int32Values.map(Int.init)
        }
        highColumnsCache[t.name] = layout.highColumns
        return layout
    }

    /// Rows [start, start + count) of a tensor's 2-D view, reconstructed in the original basis.
    public func reconstructRows(_ name: String, start: Int, count: Int) throws -> [Float] {
        guard let (file, t) = tensor(named: name) else { throw PackageError.invalid(path: path, reason: "no tensor '\(name)'") }
        let cols = t.shape.count >= 2 ? t.shape.dropFirst().reduce(1, *) : (t.shape.first ?? 1)
        func bad(_ reason: String) -> PackageError { .invalid(path: file.path, reason: "tensor '\(name)': \(reason)") }
        guard start >= 0, count >= 0, start <= (t.shape.first ?? 1) - count else { throw bad("rows \(start)..<\(start + count) are outside the tensor") }
        guard let layout = layout(of: t, in: file) else {
            guard let e = file.entry(t.name) else { throw bad("no array \(t.name)") }
            return try file.readRows(e, start: start, count: count)
        }
        guard layout.columns == cols, start <= layout.rows - count else { throw bad("its layout is \(layout.rows) x \(layout.columns), the tensor's shape \(t.shape)") }
        var arrays: [String: NamedArray] = [:]
        let prefix = t.name + "#"
        var nnzBefore = 0, nnz = 0
        if let counts = file.entry(prefix + "sparse.counts") {
            guard counts.dtype == .i32 else { throw bad("sparse counts are \(counts.dtype.rawValue), not I32") }
            let all = NamedArray(name: counts.name, dtype: .i32, shape: counts.shape, bytes: try file.rawBytes(counts)).int32Values
            guard all.count >= start + count, all.allSatisfy({ $0 >= 0 }) else { throw bad("sparse counts do not cover rows \(start)..<\(start + count)") }
            nnzBefore = all[0..<start].reduce(0) { $0 + Int($1) }
            nnz = all[start..<start + count].reduce(0) { $0 + Int($1) }
        }
        for full in t.arrays where full.hasPrefix(prefix) {
            let part = String(full.dropFirst(prefix.count))
            guard part != "columns", !part.hasPrefix("lowrank.") else { continue }
            guard let e = file.entry(full), e.shape.count >= 1, e.shape[0] > 0 else { throw bad("array \(full) is missing or has no rows") }
            let slice: [UInt8]
            var shape = e.shape
            if part == "sparse.columns" || part == "sparse.values" {
                let w = e.dtype.byteSize
                slice = try file.rawBytes(e, range: nnzBefore * w..<(nnzBefore + nnz) * w)
                shape = [nnz]
            } else {
                let rowBytes = (e.end - e.begin) / max(e.shape[0], 1)
                slice = try file.rawBytes(e, range: start * rowBytes..<(start + count) * rowBytes)
                shape[0] = count
            }
            arrays[part] = NamedArray(name: part, dtype: e.dtype, shape: shape, bytes: slice)
        }
        var out = [Float](repeating: 0, count: count * cols)
        try out.withUnsafeMutableBufferPointer { (p) throws(PackageError) in
            try TileCodec.decode(arrays, rows: count, layout: layout, into: p, file: file.path, tensor: name)
            Rotation(layout.rotation).unrotateRows(p, rows: count)
        }
        if let ae = file.entry(prefix + "lowrank.a"), let be = file.entry(prefix + "lowrank.b") {
            guard ae.dtype == .f16, be.dtype == .f16, ae.shape.count == 2, be.shape.count == 2, ae.shape[0] == layout.rows,
                  ae.shape[1] == be.shape[0], be.shape[1] == cols, ae.end - ae.begin == ae.elementCount * 2, be.end - be.begin == be.elementCount * 2 else {
                throw bad("low-rank factors of shapes \(ae.shape) and \(be.shape) do not fit a \(layout.rows) x \(cols) tensor")
            }
            let r = ae.shape[1]
            let a = NamedArray(name: "a", dtype: .f16, shape: ae.shape, bytes: try file.rawBytes(ae)).halfBits
            let b = NamedArray(name: "b", dtype: .f16, shape: be.shape, bytes: try file.rawBytes(be)).halfBits.map(HalfPrecision.f16ToFloat)
            for i in 0..<count {
                for j in 0..<r {
                    let aij = HalfPrecision.f16ToFloat(a[(start + i) * r + j])
                    if aij == 0 { continue }
                    for c in 0..<cols { out[i * cols + c] += aij * b[j * cols + c] }
                }
            }
        }
        return out
    }
}
