import XCTest
import Foundation
@testable import Engine
@testable import Coordinator
@testable import Pipeline

/// The job's state on disk: one coordinator per output folder, a journal whose corruption is reported rather
/// than silently truncating it, unique temp names, and tensors with no rows.
final class JobStateTests: XCTestCase {
    private var folder = ""
    override func setUp() { folder = TestModels.temporaryFolder("job-state") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private func journalWithThreeRecords() throws -> (path: String, offsets: [Int]) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/journal"
        let j = try Journal(path: path)
        var offsets: [Int] = []
        for k in 0..<3 {
            offsets.append((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
            try j.append(.lease(task: "A\(k)", attempt: 1, worker: "w"))
        }
        return (path, offsets)
    }

    private func flipByte(_ path: String, at offset: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[offset] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func testACorruptRecordInTheMiddleIsAnErrorNamingTheJournalAndOffset() throws {
        let (path, offsets) = try journalWithThreeRecords()
        try flipByte(path, at: offsets[1] + 12)
        XCTAssertThrowsError(try Journal.read(path: path)) { e in
            XCTAssertTrue("\(e)".hasPrefix(path + ": journal record at byte offset \(offsets[1])"), "\(e)")
        }
        XCTAssertThrowsError(try Journal(path: path), "a corrupt journal is not reopened (and truncated) for appending")
    }

    func testATornTailIsStillCutSilently() throws {
        let (path, offsets) = try journalWithThreeRecords()
        try flipByte(path, at: offsets[2] + 12)
        XCTAssertEqual(try Journal.read(path: path).records.count, 2)
        // A crash can also leave the file extended with zeros after the last record.
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try h.seekToEnd(); try h.write(contentsOf: Data(count: 100)); try h.close()
        XCTAssertEqual(try Journal.read(path: path).records.count, 2)
        let reopened = try Journal(path: path)
        try reopened.append(.lease(task: "A9", attempt: 1, worker: "w"))
        XCTAssertEqual(try Journal.read(path: path).records.last, .lease(task: "A9", attempt: 1, worker: "w"))
    }

    func testASecondLockOnTheOutputFolderIsRefusedNamingTheHolder() throws {
        let out = OutputFolder(path: folder)
        try FileManager.default.createDirectory(atPath: out.stateFolder, withIntermediateDirectories: true)
        var first: OutputFolderLock? = try OutputFolderLock(out)
        XCTAssertThrowsError(try OutputFolderLock(out)) { e in
            XCTAssertTrue("\(e)".contains("another coordinator (pid \(getpid())) is running this job"), "\(e)")
        }
        first = nil
        XCTAssertNil(first)
        XCTAssertNoThrow(try OutputFolderLock(out), "released with its holder")
    }

    func testTemporaryNamesAreUniquePerWriter() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let a = try AtomicFileWriter(path: folder + "/f"), b = try AtomicFileWriter(path: folder + "/f")
        XCTAssertNotEqual(a.temporaryPath, b.temporaryPath)
        XCTAssertTrue(a.temporaryPath.contains(".\(getpid())."))
        XCTAssertTrue(a.temporaryPath.hasSuffix(AtomicFileWriter.temporarySuffix))
        a.abandon(); b.abandon()
    }

    func testATensorWithZeroRowsIsStoredAsIsAndTheJobFinishes() throws {
        let model = folder + "/model", out = folder + "/out"
        let empty = "model.layers.0.mlp.up_proj.weight"
        try TestModels.synthetic(at: model, emptyTensor: empty)
        let plan = try JobPlan(source: try ModelSources.open(model), profile: TestModels.profile("uqcit"))
        let assignment = try XCTUnwrap(plan.assignments.first { $0.name == empty })
        XCTAssertFalse(assignment.isQuantized)
        _ = try TestModels.compress(model, profile: TestModels.profile("uqcit"), workers: 1, out: out)
        let package = try PackageReader(path: out)
        XCTAssertEqual(try package.reconstructRows(empty, start: 0, count: 0), [])
    }
}
