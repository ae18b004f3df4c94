import XCTest
import Foundation
@testable import Engine
@testable import Pipeline
@testable import Coordinator

/// The assembler copies a one-array tile (ggml blocks) from the bytes it verified: a tile whose bytes no longer
/// have the SHA-256 its journaled result states, even one changed after the package began, never reaches it; and
/// the tile's digest, which stands for those bytes in the folder's journal record, still checks them on resume.
final class AssemblerTileCheckTests: XCTestCase {
    func testATileChangedAfterItsResultWasJournaledNeverReachesThePackage() throws {
        let dir = TestModels.temporaryFolder("assembler-tiles"), staging = dir + "/staging"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try Checkpoint(folder: TestModels.tinyLlama)
        let plan = try JobPlan(checkpoint: source, profile: TestModels.profile("gguf-q8_0"))
        let i = try XCTUnwrap(plan.assignments.firstIndex { $0.isQuantized })
        let assembler = Assembler(plan: plan, source: source, stagingFolder: staging, packageFolder: dir + "/pkg")
        var generator = SystemRandomNumberGenerator()
        var staged: [String: TaskOutputFile] = [:]
        var data: [UInt8] = []
        let names = [StagingNames.tile(i, 0), StagingNames.tile(i, 1)]
        for name in names {
            let blocks = (0..<(2 * 34)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let bytes = SafetensorsWriter.encode([NamedArray(name: TileCodec.ggmlBlocks, dtype: .u8, shape: [2, 34], bytes: blocks)])
            try FileManager.default.createDirectory(atPath: (staging + "/" + name as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: staging + "/" + name))
            staged[name] = TaskOutputFile(name: name, size: bytes.count, sha256: Digest.sha256Hex(bytes))
            data += blocks
        }
        let piece = try XCTUnwrap(try assembler.oneArrayPiece(plan.assignments[i], tiles: names, staged: staged))
        XCTAssertEqual(piece.entry.shape, [4, 34])
        let out = try SegmentedFileWriter(path: dir + "/copied")
        try piece.write(out)
        let record = try out.commit(name: "copied")
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/copied"))), data, "both tiles' blocks, in order")
        // Recorded by the tiles' own digests, each with its container header as prefix, not hashed again; those
        // segments check the copy and nothing else.
        let segments = try XCTUnwrap(record.segments)
        XCTAssertEqual(segments.map(\.sha256), names.map { staged[$0]!.sha256 })
        XCTAssertEqual(record.sha256, FileSegments.listDigest(segments))
        XCTAssertTrue(ResumeState.verify([record], root: dir))
        var copied = data
        copied[3] ^= 0x80
        try Data(copied).write(to: URL(fileURLWithPath: dir + "/copied"))
        XCTAssertFalse(ResumeState.verify([record], root: dir), "a byte changed in the first tile's blocks")
        copied[3] ^= 0x80; copied[copied.count - 1] ^= 0x01
        try Data(copied).write(to: URL(fileURLWithPath: dir + "/copied"))
        XCTAssertFalse(ResumeState.verify([record], root: dir), "a byte changed in the second tile's blocks")
        try Data(data + [0]).write(to: URL(fileURLWithPath: dir + "/copied"))
        XCTAssertFalse(ResumeState.verify([record], root: dir), "a byte appended")
        try Data(data).write(to: URL(fileURLWithPath: dir + "/copied"))
        XCTAssertTrue(ResumeState.verify([record], root: dir), "restored")

        // The second tile changes on disk after its result was journaled (a worker writing into shared staging).
        var tampered = Array(try Data(contentsOf: URL(fileURLWithPath: staging + "/" + names[1])))
        tampered[tampered.count - 1] ^= 0x01
        try Data(tampered).write(to: URL(fileURLWithPath: staging + "/" + names[1]))
        let again = try SegmentedFileWriter(path: dir + "/refused")
        XCTAssertThrowsError(try piece.write(again)) {
            XCTAssertTrue("\($0)".contains(names[1]) && "\($0)".contains("SHA-256"), "\($0)")
        }
        again.abandon()
    }

    /// Tiles an embedded worker handed over in memory are copied from there, with the size and SHA-256 their
    /// journaled results state, and their staged files are not read at all; a held tile whose digest is not the
    /// journaled one is left alone and the staged file is read and checked instead; the budget is kept.
    func testTilesHandedOverInMemoryAreCopiedFromThereNotReadBack() throws {
        let dir = TestModels.temporaryFolder("assembler-handoff"), staging = dir + "/staging"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try Checkpoint(folder: TestModels.tinyLlama)
        let plan = try JobPlan(checkpoint: source, profile: TestModels.profile("gguf-q8_0"))
        let i = try XCTUnwrap(plan.assignments.firstIndex { $0.isQuantized })
        let names = [StagingNames.tile(i, 0), StagingNames.tile(i, 1)]
        var staged: [String: TaskOutputFile] = [:], containers: [[UInt8]] = [], data: [UInt8] = []
        for (k, name) in names.enumerated() {
            let blocks = (0..<(2 * 34)).map { UInt8(truncatingIfNeeded: $0 * 7 + k) }
            let bytes = SafetensorsWriter.encode([NamedArray(name: TileCodec.ggmlBlocks, dtype: .u8, shape: [2, 34], bytes: blocks)])
            staged[name] = TaskOutputFile(name: name, size: bytes.count, sha256: Digest.sha256Hex(bytes))
            containers.append(bytes)
            data += blocks
        }
        let handoff = TileHandoff(budget: 2 * containers[0].count)
        for (k, name) in names.enumerated() { handoff.offer(name, sha256: staged[name]!.sha256, bytes: AlignedBytes(copying: containers[k])) }
        // No staged files exist: the memory copies are all there is.
        let assembler = Assembler(plan: plan, source: source, stagingFolder: staging, packageFolder: dir + "/pkg", handoff: handoff)
        let piece = try XCTUnwrap(try assembler.oneArrayPiece(plan.assignments[i], tiles: names, staged: staged))
        let out = try SegmentedFileWriter(path: dir + "/copied")
        try piece.write(out)
        let record = try out.commit(name: "copied")
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/copied"))), data)
        XCTAssertEqual(try XCTUnwrap(record.segments).map(\.sha256), names.map { staged[$0]!.sha256 })
        XCTAssertTrue(ResumeState.verify([record], root: dir))
        XCTAssertEqual(handoff.heldByteCount, 0, "taken as they were copied")

        // Held under another digest (not the journaled result's): the staged file is read and checked instead.
        var other = containers[0]; other[other.count - 1] ^= 0x01
        handoff.offer(names[0], sha256: Digest.sha256Hex(other), bytes: AlignedBytes(copying: other))
        let refused = try SegmentedFileWriter(path: dir + "/refused")
        XCTAssertThrowsError(try assembler.oneArrayPiece(plan.assignments[i], tiles: names, staged: staged)?.write(refused)) {
            XCTAssertTrue("\($0)".contains(names[0]), "the staged file it fell back to is missing: \($0)")
        }
        refused.abandon()
        XCTAssertEqual(handoff.heldByteCount, other.count, "left where it was")

        // The budget: a tile that does not fit is not kept.
        let small = TileHandoff(budget: containers[0].count)
        small.offer(names[0], sha256: staged[names[0]]!.sha256, bytes: AlignedBytes(copying: containers[0]))
        small.offer(names[1], sha256: staged[names[1]]!.sha256, bytes: AlignedBytes(copying: containers[1]))
        XCTAssertNotNil(small.peek(names[0], sha256: staged[names[0]]!.sha256, size: containers[0].count))
        XCTAssertNil(small.peek(names[1], sha256: staged[names[1]]!.sha256, size: containers[1].count))
        XCTAssertEqual(small.heldByteCount, containers[0].count)
    }

    /// A worker offers only ggml tiles, which the assembler copies whole: a tile of another layout (read array by
    /// array) would sit in the handoff's memory untaken.
    func testOnlyGGMLTilesAreHandedOver() throws {
        let dir = TestModels.temporaryFolder("handoff-offer")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try Checkpoint(folder: TestModels.tinyLlama)
        let plan = try JobPlan(checkpoint: source, profile: TestModels.profile("gguf-q8_0"))
        let t = try XCTUnwrap(plan.assignments.first { $0.isQuantized }).tensor
        let analysis = AnalysisResult(rotation: .identity(size: t.entry.columns), invariants: nil, seedTrials: [], unrotatedError: 0, highColumns: [],
                                      elementThreshold: nil, clusters: [], promotedColumns: 0, plannedHighFraction: 0, realisedHighFraction: 0)
        let int4 = LevelPolicy(pattern: "int4", high: .fp16, low: .int4, highFraction: 0, compensationRank: 0)
        for (policy, held) in [(LevelPolicy.ggml(.q4_0), true), (int4, false)] {
            let handoff = TileHandoff()
            let executor = StepExecutor(source: source, stagingFolder: dir + "/\(policy.pattern)", handoff: handoff)
            let spec = QuantizeSpec(tensor: t, policy: policy, granularity: .channel, analysis: analysis, rowStart: 0, rowCount: 8)
            let outcome = try executor.execute(.quantizeTask(0, tile: 0, spec))
            let staged = try XCTUnwrap(outcome.outputs.first)
            XCTAssertEqual(handoff.heldByteCount > 0, held, policy.pattern)
            XCTAssertEqual(handoff.peek(staged.name, sha256: staged.sha256, size: staged.size) != nil, held, policy.pattern)
        }
    }

    /// The same GGUF job with tiles handed over in memory and with none (every tile read back and checked) makes
    /// the same package, byte for byte.
    func testAHandoffChangesNoByteOfThePackage() throws {
        let dir = TestModels.temporaryFolder("handoff-package")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let profile = try TestModels.profile("gguf-q4_0")
        var lines: [String: [String]] = [:]
        for (budget, name) in [(TileHandoff.defaultBudget, "held"), (0, "read")] {
            let log = LogLines()
            _ = try CompressionJob.run(JobOptions(model: TestModels.tinyLlama, out: dir + "/" + name, profile: profile, workers: 2, progress: false,
                                                  handoffBytes: budget), log: ClusterLog { log.append($0) })
            lines[name] = log.all
        }
        let held = try TestModels.packageFiles(dir + "/held"), read = try TestModels.packageFiles(dir + "/read")
        XCTAssertFalse(held.isEmpty)
        XCTAssertEqual(held, read)
        let taken = try XCTUnwrap(lines["held"]?.first { $0.contains("from the embedded workers' memory") }, "\(lines["held"] ?? [])")
        XCTAssertFalse(taken.hasPrefix("0 "), taken)
        XCTAssertFalse(lines["read"]!.contains { $0.contains("from the embedded workers' memory") })
    }

    /// A GGUF package's weights.quant files are journaled by the digests of the tiles copied into them (the files
    /// are not hashed again as they are written), and a resume still checks every byte: an intact folder is kept, a
    /// folder with one byte changed is assembled again, and the package ends as the uninterrupted run's.
    func testAFolderJournaledByItsTilesDigestsIsCheckedByteForByteOnResume() throws {
        let dir = TestModels.temporaryFolder("folder-segments"), pkg = dir + "/pkg"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let profile = try TestModels.profile("gguf-q4_0")
        _ = try TestModels.compress(TestModels.tinyLlama, profile: profile, workers: 2, out: pkg)
        let reference = try TestModels.packageFiles(pkg)
        let out = OutputFolder(path: pkg)

        var files: [TaskOutputFile] = []
        _ = try JournalReader.forEach(path: out.journalFile) { payload in
            if case let .folder(_, recorded, _)? = try? PackageJSON.decode(JournalRecord.self, from: Array(payload)) { files += recorded }
            return true
        }
        let segmented = files.filter { $0.segments != nil }
        XCTAssertFalse(segmented.isEmpty, "the ggml folders' weights.quant are journaled by segments")
        for f in segmented {
            XCTAssertTrue(f.name.hasSuffix("/weights.quant"), f.name)
            XCTAssertTrue(f.segments!.contains { !$0.prefix.isEmpty }, "\(f.name): its tiles' container headers are the prefixes")
        }
        XCTAssertTrue(ResumeState.verify(files, root: pkg))

        // One byte inside a tile's blocks, then the job again (uqcit_metadata.json gone: not yet complete).
        let victim = try XCTUnwrap(segmented.first)
        let tile = try XCTUnwrap(victim.segments!.firstIndex { !$0.prefix.isEmpty })
        let offset = victim.segments![..<tile].reduce(0) { $0 + $1.length } + victim.segments![tile].length / 2
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: pkg + "/" + victim.name))
        bytes[offset] ^= 0x04
        try bytes.write(to: URL(fileURLWithPath: pkg + "/" + victim.name))
        XCTAssertFalse(ResumeState.verify([victim], root: pkg))
        try FileManager.default.removeItem(atPath: out.metadataFile)

        let lines = LogLines()
        _ = try CompressionJob.run(JobOptions(model: TestModels.tinyLlama, out: pkg, profile: profile, workers: 2, progress: false),
                                   log: ClusterLog { lines.append($0) })
        let folder = victim.name.split(separator: "/")[1]
        let reassembled = lines.all.filter { $0.hasPrefix("folder ") && $0.contains("does not match the journal") }
        XCTAssertEqual(reassembled, ["folder \(folder) does not match the journal; it will be assembled again"], "\(lines.all)")
        XCTAssertTrue(lines.all.contains { $0.contains("5 of 6 folders already assembled") }, "\(lines.all)")
        XCTAssertEqual(try TestModels.packageFiles(pkg), reference)
    }
}
