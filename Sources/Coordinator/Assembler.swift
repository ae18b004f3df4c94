import Foundation
import Engine
import Pipeline

/// Builds one package folder (layers/<folder>/) from finished tasks: weights.quant streamed from the tile files
/// (never a whole tensor in memory), plus rotation.json, precision_map.json and ghz_clusters.json.
public struct Assembler {
    public let plan: JobPlan
    public let source: TensorRowSource
    public let stagingFolder: String
    public let packageFolder: String
    /// Tiles this process's embedded workers left in memory (`TileHandoff`): copied from there, not read back.
    public let handoff: TileHandoff?

    public init(plan: JobPlan, source: TensorRowSource, stagingFolder: String, packageFolder: String, handoff: TileHandoff? = nil) {
        self.plan = plan; self.source = source; self.stagingFolder = stagingFolder; self.packageFolder = packageFolder; self.handoff = handoff
    }

    struct Piece {
        var entry: SafetensorsWriter.Entry
        var write: (SegmentedFileWriter) throws -> Void
    }

    /// What a folder's assembly wrote: a report per tensor, and its files (relative to the package root, sorted by
    /// name) with the sizes and digests taken as they were written (weights.quant's by segments where it holds ggml
    /// tiles), so the journal needs no second read.
    public struct AssembledFolder {
        public var reports: [TensorReport]
        public var files: [TaskOutputFile]
    }

    /// Writes the folder.
    public func assemble(folder: String, results: TaskResults) throws -> AssembledFolder {
        // An auto job's policies were chosen mid-job: lay the tensors out as they were quantized.
        if let overrides = results.overrides, plan.profile.overrides == nil {
            return try Assembler(plan: plan.applying(overrides), source: source, stagingFolder: stagingFolder, packageFolder: packageFolder, handoff: handoff)
                .assemble(folder: folder, results: results)
        }
        let dir = packageFolder + "/layers/" + folder
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var pieces: [Piece] = []
        var stored: [StoredTensor] = []
        var reports: [TensorReport] = []
        var rotations: [String: RotationRecord] = [:]
        var precision: [String: PrecisionRecord] = [:]
        var clusters: [String: ClusterRecord] = [:]

        for (i, a) in plan.assignments.enumerated() where a.folder == folder {
            let e = a.tensor.entry
            if !a.isQuantized {
                let entry = SafetensorsWriter.Entry(name: a.name, dtype: e.dtype, shape: e.shape, byteCount: e.end - e.begin)
                pieces.append(Piece(entry: entry) { w in try source.forEachRawChunk(a.tensor) { try w.write($0) } })
                stored.append(StoredTensor(name: a.name, role: a.role, level: a.level, pattern: nil, shape: e.shape,
                                           sourceDType: e.dtype, layout: nil, arrays: [a.name], bytes: entry.byteCount))
                reports.append(TensorReport(name: a.name, folder: folder, role: a.role, level: a.level, pattern: nil,
                                            parameters: e.elementCount, bytes: entry.byteCount,
                                            bitsPerWeight: Double(entry.byteCount * 8) / Double(max(e.elementCount, 1)),
                                            relativeError: 0, sqnrDB: nil, maxAbsError: 0))
                continue
            }
            guard let analysis = results.analyses[i], results.tileResults[i] != nil else {
                throw PackageError.invalid(path: dir, reason: "tensor \(a.name) has no finished analysis and tiles to assemble")
            }
            var layout = plan.layout(i, analysis: analysis)
            let tensorPieces = try quantizedPieces(i, a, layout: layout, staged: results.stagedFiles[i] ?? [:])
            pieces += tensorPieces
            let bytes = tensorPieces.reduce(0) { $0 + $1.entry.byteCount }
            layout.highColumns = []
            stored.append(StoredTensor(name: a.name, role: a.role, level: a.level, pattern: a.policy!.pattern, shape: e.shape,
                                       sourceDType: e.dtype, layout: layout, arrays: tensorPieces.map(\.entry.name), bytes: bytes))
            reports.append(report(i, a, folder: folder, bytes: bytes, results: results))
            rotations[a.name] = RotationRecord(descriptor: analysis.rotation, invariants: analysis.invariants,
                                               seedTrials: analysis.seedTrials, unrotatedRelativeError: analysis.unrotatedError)
            precision[a.name] = PrecisionRecord(level: a.level, role: a.role, pattern: a.policy!.pattern, granularity: plan.profile.granularity,
                                                highFormat: a.policy!.high, lowFormat: a.policy!.low,
                                                plannedHighFraction: analysis.plannedHighFraction,
                                                realisedHighFraction: reports.last!.realisedHighFraction ?? 0,
                                                highColumns: analysis.highColumns.count, promotedColumns: analysis.promotedColumns,
                                                compensationRank: layout.compensationRank, bitsPerWeight: reports.last!.bitsPerWeight)
            clusters[a.name] = ClusterRecord(threshold: plan.profile.clusters.threshold, enabled: plan.profile.clusters.enabled,
                                             clusters: analysis.clusters, columnsInClusters: analysis.clusters.reduce(0) { $0 + $1.count })
        }

        let meta = WeightsQuantMetadata(format: WeightsQuantMetadata.formatName, tensors: stored)
        let metaJSON = String(decoding: try PackageJSON.encode(meta, compact: true), as: UTF8.self)
        let header = SafetensorsWriter.header(entries: pieces.map(\.entry), metadata: [WeightsQuantMetadata.headerKey: metaJSON])
        let w = try SegmentedFileWriter(path: dir + "/weights.quant")
        let weights: TaskOutputFile
        do {
            try w.write(header)
            for p in pieces {
                let before = w.bytesWritten
                try p.write(w)
                guard w.bytesWritten - before == p.entry.byteCount else {
                    throw PackageError.invalid(path: dir + "/weights.quant", reason: "array \(p.entry.name) wrote \(w.bytesWritten - before) bytes, expected \(p.entry.byteCount)")
                }
            }
            weights = try w.commit(name: "weights.quant")
        } catch { w.abandon(); throw error }
        var files = [weights]
        for (name, bytes) in [("rotation.json", try PackageJSON.encode(rotations)), ("precision_map.json", try PackageJSON.encode(precision)),
                              ("ghz_clusters.json", try PackageJSON.encode(clusters))] {
            files.append(TaskOutputFile(name: name, size: bytes.count, sha256: try AtomicFileWriter.write(bytes, to: dir + "/" + name)))
        }
        files = files.map { var f = $0; f.name = "layers/" + folder + "/" + f.name; return f }
        return AssembledFolder(reports: reports, files: files.sorted { $0.name < $1.name })
    }

    /// The arrays of a quantized tensor: each tile part concatenated over the tiles, then the high-column
    /// index and the low-rank factors.
    func quantizedPieces(_ i: Int, _ a: TensorAssignment, layout: QuantizedTensorLayout, staged: [String: TaskOutputFile]) throws -> [Piece] {
        let names = (0..<plan.tileCount(i)).map { StagingNames.tile(i, $0) }
        // Tiles of one array (ggml blocks) are verified as they are copied; others before.
        if layout.ggml != nil, let piece = try oneArrayPiece(a, tiles: names, staged: staged) { return [piece] }
        let tiles = try names.map { try openStaged($0, tensor: a.name, staged: staged) }
        guard let first = tiles.first else { throw PackageError.invalid(path: stagingFolder, reason: "tensor \(a.name) has no tiles") }
        var pieces: [Piece] = []
        for part in first.tensors.sorted(by: { $0.begin < $1.begin }) {
            var shape = part.shape
            var bytes = 0
            for t in tiles {
                guard let e = t.entry(part.name) else {
                    throw PackageError.invalid(path: t.path, reason: "tile lacks array \(part.name)")
                }
                bytes += e.end - e.begin
            }
            shape[0] = bytes / max(1, part.shape.dropFirst().reduce(1, *) * part.dtype.byteSize)
            let name = a.name + "#" + part.name
            pieces.append(Piece(entry: .init(name: name, dtype: part.dtype, shape: shape, byteCount: bytes)) { w in
                for t in tiles { try t.forEachRawChunk(t.entry(part.name)!) { try w.write($0) } }
            })
        }
        if !layout.highColumns.isEmpty {
            let cols = NamedArray(name: a.name + "#columns", int32: layout.highColumns.map { Int32($0) }, shape: [layout.highColumns.count])
            pieces.append(Piece(entry: .init(name: cols.name, dtype: .i32, shape: cols.shape, byteCount: cols.bytes.count)) { try $0.write(cols.bytes) })
        }
        if layout.compensationRank > 0 {
            let f = try openStaged(StagingNames.lowRank(i), tensor: a.name, staged: staged)
            for e in f.tensors.sorted(by: { $0.begin < $1.begin }) {
                pieces.append(Piece(entry: .init(name: a.name + "#" + e.name, dtype: e.dtype, shape: e.shape, byteCount: e.end - e.begin)) {
                    try $0.write(f.rawBytes(e))
                })
            }
        }
        return pieces
    }

    /// A tensor whose tiles each hold one array: each tile is read whole once, checked against the size and
    /// SHA-256 its journaled result states, and its array written from those same bytes, so nothing can change
    /// between the check and the copy (and the tile is read once, not twice); or, where this process's embedded
    /// worker left the tile in memory with that size and SHA-256, written from there (the bytes it hashed), with
    /// nothing read. Nil when a tile holds more arrays.
    func oneArrayPiece(_ a: TensorAssignment, tiles: [String], staged: [String: TaskOutputFile]) throws -> Piece? {
        var arrays: [TensorEntry] = [], records: [TaskOutputFile] = []
        for name in tiles {
            let recorded = try journaled(name, tensor: a.name, staged: staged)
            records.append(recorded)
            let path = stagingFolder + "/" + name
            let header: SafetensorsHeader
            if let held = handoff?.peek(name, sha256: recorded.sha256, size: recorded.size) {
                header = try held.withUnsafeBytes { (b) throws(CheckpointError) in try SafetensorsHeader.parse(container: b, file: path) }
            } else {
                header = try SafetensorsFile(path: path).header
            }
            guard header.tensors.count == 1 else { return nil }
            arrays.append(header.tensors[0])
        }
        guard let first = arrays.first else { throw PackageError.invalid(path: stagingFolder, reason: "tensor \(a.name) has no tiles") }
        guard arrays.allSatisfy({ $0.name == first.name && $0.dtype == first.dtype && Array($0.shape.dropFirst()) == Array(first.shape.dropFirst()) }) else {
            throw PackageError.invalid(path: stagingFolder + "/" + tiles[0], reason: "tensor \(a.name): its tiles' arrays differ in name, type or row shape")
        }
        let bytes = arrays.reduce(0) { $0 + $1.end - $1.begin }
        var shape = first.shape
        shape[0] = bytes / max(1, first.shape.dropFirst().reduce(1, *) * first.dtype.byteSize)
        let entry = SafetensorsWriter.Entry(name: a.name + "#" + first.name, dtype: first.dtype, shape: shape, byteCount: bytes)
        return Piece(entry: entry) { w in
            for (recorded, expected) in zip(records, arrays) {
                let path = self.stagingFolder + "/" + recorded.name
                let whole = try self.handoff?.take(recorded.name, sha256: recorded.sha256, size: recorded.size) ?? self.readChecked(recorded, tensor: a.name)
                let header = try whole.withUnsafeBytes { (b) throws(CheckpointError) in try SafetensorsHeader.parse(container: b, file: path) }
                guard header.tensors.count == 1, header.tensors[0] == expected else {
                    throw PackageError.invalid(path: path, reason: "tensor \(a.name): the tile changed while the package was written")
                }
                // The tile's SHA-256, just checked (or taken as its worker wrote it), stands for these bytes in the
                // package's record.
                let begin = header.dataStart + expected.begin, end = header.dataStart + expected.end
                try whole.withUnsafeBytes {
                    try w.writeVerified(UnsafeRawBufferPointer(rebasing: $0[begin..<end]), prefix: UnsafeRawBufferPointer(rebasing: $0[..<begin]),
                                        suffix: UnsafeRawBufferPointer(rebasing: $0[end...]), sha256: recorded.sha256)
                }
            }
        }
    }

    /// A staged tile read whole past the page cache, as the worker wrote it, after its size and SHA-256 were
    /// checked against its journaled result.
    func readChecked(_ recorded: TaskOutputFile, tensor: String) throws -> AlignedBytes {
        let path = stagingFolder + "/" + recorded.name
        let file = try UncachedFile(path: path)
        guard file.size == recorded.size else {
            throw PackageError.invalid(path: path, reason: "tensor \(tensor): \(file.size) bytes, its journaled result states \(recorded.size)")
        }
        let whole = try file.readWhole()
        guard whole.withUnsafeBytes({ Digest.sha256Hex($0) }) == recorded.sha256 else {
            throw PackageError.invalid(path: path, reason: "tensor \(tensor): SHA-256 differs from the one its journaled result states")
        }
        return whole
    }

    /// A staged file, opened only once it has the size and SHA-256 its journaled result states: a file changed
    /// on disk since (or by a worker that lied) never reaches the package.
    func openStaged(_ name: String, tensor: String, staged: [String: TaskOutputFile]) throws -> SafetensorsFile {
        let path = stagingFolder + "/" + name
        let recorded = try journaled(name, tensor: tensor, staged: staged)
        do { try ResultValidator.verifyStaged([recorded], root: stagingFolder) } catch {
            throw PackageError.invalid(path: path, reason: "tensor \(tensor): \(error)")
        }
        return try SafetensorsFile(path: path)
    }

    /// The size and SHA-256 a journaled result states for a staged file; a file no result states is refused.
    func journaled(_ name: String, tensor: String, staged: [String: TaskOutputFile]) throws -> TaskOutputFile {
        guard let recorded = staged[name] else {
            throw PackageError.invalid(path: stagingFolder + "/" + name, reason: "no journaled result states this file (tensor \(tensor))")
        }
        return recorded
    }

    func report(_ i: Int, _ a: TensorAssignment, folder: String, bytes: Int, results: TaskResults) -> TensorReport {
        // Sum in tile order: the same floating-point sums whatever order the tiles finished in.
        let tiles = results.tileResults[i]!.sorted { $0.key < $1.key }.map(\.value)
        let s = tiles.reduce(0) { $0 + $1.sourceSumSquares }
        var err = tiles.reduce(0) { $0 + $1.errorSumSquares }
        let before = s > 0 ? (err / s).squareRoot() : 0
        let maxAbs = tiles.map { Double($0.maxAbsError) }.max() ?? 0
        let high = tiles.reduce(0) { $0 + $1.highElements }
        let n = a.tensor.entry.elementCount
        var rank: Int? = nil
        if let c = results.compensations[i] { err = c.errorSumSquaresAfter; rank = c.rank }
        let rel = s > 0 ? (err / s).squareRoot() : 0
        return TensorReport(name: a.name, folder: folder, role: a.role, level: a.level, pattern: a.policy!.pattern,
                            parameters: n, bytes: bytes, bitsPerWeight: Double(bytes * 8) / Double(max(n, 1)),
                            relativeError: rel, sqnrDB: err > 0 ? 10 * log10(s / err) : nil, maxAbsError: maxAbs,
                            plannedHighFraction: a.policy!.highFraction, realisedHighFraction: Double(high) / Double(max(n, 1)),
                            clusters: results.analyses[i]!.clusters.count, compensationRank: rank,
                            relativeErrorBeforeCompensation: rank == nil ? nil : before)
    }
}

struct RotationRecord: Codable {
    var descriptor: RotationDescriptor
    var invariants: RotationInvariants?
    var seedTrials: [SeedTrial]
    var unrotatedRelativeError: Double
}

struct PrecisionRecord: Codable {
    var level: Int
    var role: String
    var pattern: String
    var granularity: Granularity
    var highFormat: QuantFormat
    var lowFormat: QuantFormat
    var plannedHighFraction: Double
    var realisedHighFraction: Double
    var highColumns: Int
    var promotedColumns: Int
    var compensationRank: Int
    var bitsPerWeight: Double
}

struct ClusterRecord: Codable {
    var threshold: Double
    var enabled: Bool
    var clusters: [[Int]]
    var columnsInClusters: Int
}
