import XCTest
import Foundation
@testable import Engine
@testable import Coordinator
@testable import Pipeline

/// Hostile task results, checked without sockets: each field a worker controls, bent out of shape, is refused
/// with a reason, and the real results of the same tasks pass.
final class ResultValidatorTests: XCTestCase {
    private var folder = ""
    private var plan: JobPlan!
    private var executor: StepExecutor!
    private var staging: String { folder + "/staging" }

    override func setUpWithError() throws {
        folder = TestModels.temporaryFolder("validator")
        try TestModels.synthetic(at: folder + "/model")
        let source = try ModelSources.open(folder + "/model")
        plan = try JobPlan(source: source, profile: TestModels.profile("uqcit"))
        executor = StepExecutor(source: source, stagingFolder: staging)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private var tensor: Int { plan.assignments.firstIndex { $0.isQuantized && $0.name.contains("q_proj") }! }
    private var analyzeTask: TaskSpec { .analyzeTask(tensor, plan.analyzeSpec(tensor)) }

    private func refusal(_ o: TaskOutcome, _ t: TaskSpec) -> String? {
        do { try ResultValidator.check(o, against: t); return nil } catch { return error.reason }
    }

    private func assertRefused(_ o: TaskOutcome, _ t: TaskSpec, mentioning word: String, line: UInt = #line) {
        let reason = refusal(o, t)
        XCTAssertNotNil(reason, "accepted a hostile result", line: line)
        XCTAssertTrue(reason?.contains(word) ?? false, "reason '\(reason ?? "")' should mention \(word)", line: line)
    }

    func testTheIssueProbeAnAnalyzeResultWithNoAnalysisIsRefused() throws {
        let probe = try JSONDecoder().decode(TaskOutcome.self, from: Data(#"{"taskId":"\#(analyzeTask.id)","outputs":[],"seconds":0.01}"#.utf8))
        assertRefused(probe, analyzeTask, mentioning: "without its analysis")
    }

    func testHostileAnalysisFieldsAreRefused() throws {
        let task = analyzeTask
        let real = try executor.execute(task)
        XCTAssertNil(refusal(real, task))
        let cols = task.analyze!.tensor.entry.columns
        func bent(_ change: (inout AnalysisResult) -> Void) -> TaskOutcome { var o = real; change(&o.analysis!); return o }
        assertRefused(bent { $0.rotation.size = cols * 2 }, task, mentioning: "rotation size")
        assertRefused(bent { $0.rotation.kind = "../../etc" }, task, mentioning: "unknown rotation kind")
        assertRefused(bent { $0.rotation = RotationDescriptor(kind: RotationDescriptor.blockHadamardKind, block: 3, seed: 1, size: cols) }, task, mentioning: "block")
        assertRefused(bent { $0.rotation.kind = RotationDescriptor.noneKind; $0.rotation.block = 7 }, task, mentioning: "identity")
        assertRefused(bent { $0.highColumns = [cols] + $0.highColumns.dropFirst() }, task, mentioning: "ascending")
        assertRefused(bent { $0.highColumns = [-1] + $0.highColumns.dropFirst() }, task, mentioning: "ascending")
        assertRefused(bent { $0.highColumns = $0.highColumns.reversed() }, task, mentioning: "ascending")
        assertRefused(bent { $0.highColumns.removeLast() }, task, mentioning: "high columns")
        assertRefused(bent { $0.promotedColumns = -1 }, task, mentioning: "promotedColumns")
        assertRefused(bent { $0.clusters = [[0, cols + 5]] }, task, mentioning: "cluster 0")
        assertRefused(bent { $0.clusters = [[1]] }, task, mentioning: "cluster 0")
        assertRefused(bent { $0.clusters = [[1, 2], [2, 3]] }, task, mentioning: "two clusters")
        assertRefused(bent { $0.realisedHighFraction = 1.5 }, task, mentioning: "realisedHighFraction")
        assertRefused(bent { $0.plannedHighFraction = .nan }, task, mentioning: "plannedHighFraction")
        assertRefused(bent { $0.unrotatedError = .infinity }, task, mentioning: "unrotatedError")
        assertRefused(bent { $0.seedTrials.append(SeedTrial(seed: 1, relativeError: -1)) }, task, mentioning: "seed")
        assertRefused(bent { $0.elementThreshold = 0.5 }, task, mentioning: "element threshold")
        var other = real; other.taskId = "A999"
        assertRefused(other, task, mentioning: "names task")
        var extra = real; extra.tile = TileResult(sourceSumSquares: 1, errorSumSquares: 0, maxAbsError: 0, highElements: 0, elements: 1)
        assertRefused(extra, task, mentioning: "carries a tile")
    }

    func testHostileTileResultsAndOutputNamesAreRefused() throws {
        let analysis = try executor.execute(analyzeTask).analysis!
        let task = TaskSpec.quantizeTask(tensor, tile: 0, plan.quantizeSpec(tensor, tile: 0, analysis: analysis))
        let real = try executor.execute(task)
        XCTAssertNil(refusal(real, task))
        XCTAssertEqual(try ResultValidator.verifyStaged(real.outputs, root: staging), real.outputs[0].size)
        func bentTile(_ change: (inout TileResult) -> Void) -> TaskOutcome { var o = real; change(&o.tile!); return o }
        assertRefused(bentTile { $0.elements += 1 }, task, mentioning: "elements")
        assertRefused(bentTile { $0.errorSumSquares = .nan }, task, mentioning: "errorSumSquares")
        assertRefused(bentTile { $0.sourceSumSquares = -1 }, task, mentioning: "sourceSumSquares")
        assertRefused(bentTile { $0.maxAbsError = .infinity }, task, mentioning: "maxAbsError")
        assertRefused(bentTile { $0.highElements = $0.elements + 1 }, task, mentioning: "high elements")
        var noTile = real; noTile.tile = nil
        assertRefused(noTile, task, mentioning: "without its tile")
        func bentFile(_ change: (inout TaskOutputFile) -> Void) -> TaskOutcome { var o = real; change(&o.outputs[0]); return o }
        assertRefused(bentFile { $0.name = "../../../journal" }, task, mentioning: "outputs")
        assertRefused(bentFile { $0.name = StagingNames.tile(tensor, 1) }, task, mentioning: "outputs")
        assertRefused(bentFile { $0.size = 0 }, task, mentioning: "bytes")
        assertRefused(bentFile { $0.size = Int.max }, task, mentioning: "bytes")
        assertRefused(bentFile { $0.sha256 = $0.sha256.uppercased() }, task, mentioning: "SHA-256")
        assertRefused(bentFile { $0.sha256 = "abc\n[uqcit] forged" }, task, mentioning: "\\u{a}")
        var twice = real; twice.outputs.append(real.outputs[0])
        assertRefused(twice, task, mentioning: "outputs")
        var none = real; none.outputs = []
        assertRefused(none, task, mentioning: "outputs")

        // The digest a worker states is checked against the bytes in the staging folder.
        XCTAssertThrowsError(try ResultValidator.verifyStaged(bentFile { $0.sha256 = String(repeating: "0", count: 64) }.outputs, root: staging)) {
            XCTAssertTrue("\($0)".contains("the result states"), "\($0)")
        }
        XCTAssertThrowsError(try ResultValidator.verifyStaged(bentFile { $0.size += 1 }.outputs, root: staging))
    }

    func testARefusedResultRequeuesTheTaskWithoutUsingUpItsAttempts() throws {
        let scheduler = try JobScheduler(plan: plan, maxAttempts: 1)
        let (task, attempt) = try XCTUnwrap(scheduler.next())
        XCTAssertEqual(attempt, 1)
        XCTAssertEqual(scheduler.runningTask(task.id), task)
        scheduler.putBack(task.id)
        XCTAssertNil(scheduler.runningTask(task.id))
        let (again, second) = try XCTUnwrap(scheduler.next())
        XCTAssertEqual(again.id, task.id, "a refused task goes to the front of the queue")
        XCTAssertEqual(second, 2)
        // One real failure is still allowed: the refused attempt did not count.
        XCTAssertThrowsError(try scheduler.fail(task.id, reason: "disk full", retryable: true)) {
            XCTAssertTrue("\($0)".contains("after 1 attempt(s)"), "\($0)")
        }
    }

    func testAJournalRecordThatFailsValidationIsNotDoneOnResume() throws {
        let out = folder + "/out", profile = try TestModels.profile("uqcit")
        let state = OutputFolder(path: out)
        try FileManager.default.createDirectory(atPath: state.stagingFolder, withIntermediateDirectories: true)
        try AtomicFileWriter.write(PackageJSON.encode(OutputFolder.JobIdentity(sourceFingerprint: plan.sourceFingerprint, profileHash: profile.hash, layers: nil)),
                                   to: state.jobFile)
        let journal = try Journal(path: state.journalFile)
        try journal.append(.plan(sourceFingerprint: plan.sourceFingerprint, profileHash: profile.hash, layers: nil, tasks: plan.taskCount))
        // The issue's probe, journaled by a coordinator that did not check it.
        try journal.append(.done(task: analyzeTask.id, attempt: 1, worker: "hostile", outcome: TaskOutcome(taskId: analyzeTask.id, outputs: [], seconds: 0.01)))
        let lines = LogLines()
        let summary = try CompressionJob.run(JobOptions(model: folder + "/model", out: out, profile: profile, workers: 1, progress: false),
                                             log: ClusterLog { lines.append($0) })
        XCTAssertEqual(summary.resumedTasks, 0)
        XCTAssertTrue(lines.all.contains { $0.contains("journal record for task \(analyzeTask.id) fails validation (ANALYZE result without its analysis)") }, "\(lines.all)")
        XCTAssertNoThrow(try PackageReader(path: out))
    }
}

/// Log lines collected from any thread.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
