import XCTest
import Foundation
@testable import Engine
@testable import Coordinator
@testable import Pipeline
import UQCITProtocol

/// The broker's session, lease and result logic without sockets: a `BrokerCore` driven with envelopes and a fake
/// clock, answering into a recording outbox, on the plan of a tiny checkpoint.
final class BrokerCoreTests: XCTestCase {
    private var folder = ""
    private var source: ModelSource!
    private var plan: JobPlan!
    private var outbox: RecordingOutbox!
    private var logLines: LogLines!
    /// What the broker has logged so far, one line after another.
    private var log: String { logLines.all.joined(separator: "\n") }
    private var journalPath: String { folder + "/journal" }
    private var staging: String { folder + "/staging" }
    private let start = Date(timeIntervalSince1970: 1_000_000)
    private let jobID = "job-1"
    private let w1: [UInt8] = [1, 1]
    private let w2: [UInt8] = [2, 2]

    override func setUpWithError() throws {
        folder = TestModels.temporaryFolder("broker-core")
        try TestModels.synthetic(at: folder + "/model")
        source = try ModelSources.open(folder + "/model")
        plan = try JobPlan(source: source, profile: TestModels.profile("uqcit"))
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        outbox = RecordingOutbox()
        logLines = LogLines()
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private func core(storage: StorageMode = .shared, maxInvalidResults: Int = 3, leaseSeconds: Double = 300) throws -> BrokerCore {
        let options = ClusterOptions(heartbeat: HeartbeatSettings(intervalMs: 1000, liveness: 3), storage: storage,
                                     maxInvalidResults: maxInvalidResults,
                                     leaseDeadlines: LeaseDeadlines(minimumSeconds: leaseSeconds, secondsPerMParam: 0))
        let wire = JobWire(jobID: jobID, coordinatorName: "test-coordinator", stagingDir: staging, sourceDir: folder + "/model")
        let lines = logLines!
        return BrokerCore(scheduler: try JobScheduler(plan: plan), options: options, wire: wire, journal: try Journal(path: journalPath),
                          log: ClusterLog { lines.append($0) }, outbox: outbox, now: start)
    }

    private func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    private func say(_ core: BrokerCore, _ peer: [UInt8], _ body: Uqcit_V2_Envelope.OneOf_Body, at seconds: Double = 0) throws {
        try core.receive(from: peer, frames: [EnvelopeCodec.encode(Uqcit_V2_Envelope(jobID: jobID, body: body))], now: at(seconds))
    }

    private func join(_ core: BrokerCore, _ peer: [UInt8], name: String, threads: UInt32 = 1, at seconds: Double = 0) throws {
        var hello = Uqcit_V2_Hello(); hello.workerName = name; hello.threads = threads
        try say(core, peer, .hello(hello), at: seconds)
    }

    private func ready(_ core: BrokerCore, _ peer: [UInt8], _ credits: UInt32 = 1, at seconds: Double = 0) throws {
        var r = Uqcit_V2_Ready(); r.credits = credits
        try say(core, peer, .ready(r), at: seconds)
    }

    /// The assignments sent to `peer` since the last look.
    private func assignments(_ peer: [UInt8]) throws -> [Uqcit_V2_TaskAssignment] {
        try outbox.take(peer).compactMap { if case .taskAssignment(let a) = $0.body { return a } else { return nil } }
    }

    private func result(_ a: Uqcit_V2_TaskAssignment, _ outcome: TaskOutcome? = nil) -> Uqcit_V2_Envelope.OneOf_Body {
        var r = outcome.map { Uqcit_V2_TaskResult($0, attempt: a.attempt) } ?? Uqcit_V2_TaskResult()
        r.taskID = a.taskID; r.attempt = a.attempt; r.seconds = max(r.seconds, 0.01)
        return .taskResult(r)
    }

    private func journaledDone() throws -> [String] {
        try Journal.read(path: journalPath).records.compactMap { if case .done(let task, _, _, _) = $0 { return task } else { return nil } }
    }

    func testAHelloGetsAWelcomeAndCreditsAreCappedAtThreads() throws {
        let core = try core()
        try join(core, w1, name: "w1", threads: 2)
        let welcome = try XCTUnwrap(try outbox.take(w1).first)
        guard case .welcome(let w) = welcome.body else { return XCTFail("expected a Welcome, got \(Messages.name(welcome.body))") }
        XCTAssertEqual(welcome.jobID, jobID)
        XCTAssertEqual(w.coordinatorName, "test-coordinator")
        XCTAssertEqual(w.heartbeatIntervalMs, 1000)
        XCTAssertEqual(w.heartbeatLiveness, 3)
        XCTAssertEqual(w.storageMode, "shared")
        XCTAssertEqual(w.stagingDir, staging)
        XCTAssertTrue(try Journal.read(path: journalPath).records.contains(.worker(name: "w1", peer: "an unknown address", threads: 2)))

        try ready(core, w1, 10)
        try core.tick(now: at(0))
        let first = try assignments(w1)
        XCTAssertEqual(first.count, 2, "a two-thread worker holds two tasks, whatever credits it claims")
        XCTAssertEqual(Set(first.map(\.taskID)).count, 2)
        XCTAssertEqual(first.map(\.attempt), [1, 1])
        try ready(core, w1, 10)
        try core.tick(now: at(0))
        XCTAssertEqual(try assignments(w1).count, 0, "no credit while both threads are busy")
    }

    func testReportsNobodyLeasedAreIgnored() throws {
        let core = try core()
        try join(core, w1, name: "w1")
        try join(core, w2, name: "w2")
        try ready(core, w1)
        try core.tick(now: at(0))
        let a = try XCTUnwrap(try assignments(w1).first)

        try say(core, w2, result(a))
        var late = a; late.attempt = 2
        try say(core, w1, result(late))
        var failure = Uqcit_V2_TaskFailed(); failure.taskID = "no-such-task"; failure.attempt = 1; failure.reason = "made up"
        try say(core, w1, .taskFailed(failure))

        XCTAssertTrue(log.contains("ignoring a late or duplicate result for task \(a.taskID) attempt 1 from worker w2"), log)
        XCTAssertTrue(log.contains("ignoring a late or duplicate result for task \(a.taskID) attempt 2 from worker w1"), log)
        XCTAssertTrue(log.contains("ignoring a late or duplicate failure for task no-such-task attempt 1 from worker w1"), log)
        XCTAssertNotNil(core.scheduler.runningTask(a.taskID), "the lease still stands")
        XCTAssertEqual(try journaledDone(), [])
    }

    func testAnInvalidResultIsRefusedRequeuedAndRepeatedOffencesQuarantineTheWorker() throws {
        let core = try core(maxInvalidResults: 2)
        try join(core, w1, name: "w1")
        var leased: [String] = []
        for attempt in UInt32(1)...2 {
            try ready(core, w1)
            try core.tick(now: at(0))
            let a = try XCTUnwrap(try assignments(w1).first)
            leased.append(a.taskID)
            XCTAssertEqual(a.attempt, attempt, "the refused task comes back first")
            try say(core, w1, result(a))            // the probe: a TaskResult with no part
            XCTAssertNil(core.scheduler.runningTask(a.taskID))
            XCTAssertNotNil(core.scheduler.readyTask(a.taskID), "requeued")
        }
        XCTAssertEqual(Set(leased).count, 1)
        XCTAssertTrue(log.contains("refused the result of task \(leased[0]) attempt 1 from worker w1 (an unknown address): TaskResult.result: missing"), log)
        XCTAssertTrue(log.contains("worker w1 (an unknown address) quarantined after 2 invalid results"), log)
        XCTAssertEqual(try journaledDone(), [], "nothing a refused result said is journaled")

        try ready(core, w1)
        try core.tick(now: at(0))
        XCTAssertEqual(try assignments(w1).count, 0, "a quarantined worker gets no tasks")
        try join(core, w1, name: "w1")
        guard case .reject(let r) = try XCTUnwrap(try outbox.take(w1).last).body else { return XCTFail("a quarantined Hello is rejected") }
        XCTAssertTrue(r.reason.contains("quarantined"), r.reason)
        try join(core, w2, name: "w2")
        try ready(core, w2)
        try core.tick(now: at(0))
        XCTAssertEqual(try assignments(w2).first?.attempt, 3, "another worker gets the task")
    }

    func testALeasePastItsDeadlineGoesToAnotherWorker() throws {
        let core = try core(leaseSeconds: 2)
        try join(core, w1, name: "w1")
        try ready(core, w1)
        try core.tick(now: at(0))
        let held = try XCTUnwrap(try assignments(w1).first)
        try join(core, w2, name: "w2", at: 1.5)
        try say(core, w1, .heartbeat(Uqcit_V2_Heartbeat()), at: 1.5)
        try core.tick(now: at(1.5))
        XCTAssertFalse(log.contains("passed its deadline"))

        try ready(core, w2, at: 2.5)
        try core.tick(now: at(2.5))
        XCTAssertTrue(log.contains("lease of task \(held.taskID) attempt 1 on worker w1 (an unknown address) passed its deadline; requeued"), log)
        let moved = try XCTUnwrap(try assignments(w2).first)
        XCTAssertEqual(moved.taskID, held.taskID)
        XCTAssertEqual(moved.attempt, 2)
        try say(core, w1, result(held), at: 2.6)
        XCTAssertTrue(log.contains("ignoring a late or duplicate result for task \(held.taskID) attempt 1 from worker w1"), log)
        XCTAssertNotNil(core.scheduler.runningTask(held.taskID), "w2's lease stands")
    }

    func testASilentWorkerIsDeclaredDeadAndItsLeasesRequeued() throws {
        let core = try core()
        try join(core, w1, name: "w1", threads: 2)
        try ready(core, w1, 2)
        try core.tick(now: at(0))
        let held = try assignments(w1).map(\.taskID)
        XCTAssertEqual(held.count, 2)
        try join(core, w2, name: "w2", threads: 2, at: 2)
        try core.tick(now: at(2.9))
        XCTAssertEqual(core.workers.count, 2, "three heartbeat intervals of silence are allowed")

        try ready(core, w2, 2, at: 3.5)
        try core.tick(now: at(3.5))
        XCTAssertTrue(log.contains("worker w1 (an unknown address) silent for 3.5 s (3 heartbeats missed): declared dead; requeueing \(held.sorted().joined(separator: ", "))"), log)
        let moved = try assignments(w2)
        XCTAssertEqual(Set(moved.map(\.taskID)), Set(held))
        XCTAssertEqual(moved.map(\.attempt), [2, 2])
        try ready(core, w1, at: 3.6)
        guard case .reject = try XCTUnwrap(try outbox.take(w1).last).body else { return XCTFail("a dead worker must say Hello again") }
    }

    /// A tile's result whose digest is not its file's: refused from a remote peer, even one whose routing id claims
    /// to be inproc (any DEALER may set its routing id); believed only from a worker of this process, whose token
    /// no other process knows, and then only because the assembler checks that file before packaging it.
    func testOnlyThisProcesssOwnWorkersHaveTheirTileDigestsBelieved() throws {
        let forged = EmbeddedPeers.routingIDPrefix + Array("embedded-0.1".utf8)
        let own = EmbeddedPeers.routingID(name: "embedded-0.1")
        XCTAssertFalse(EmbeddedPeers.isThisProcess(forged))
        XCTAssertTrue(EmbeddedPeers.isThisProcess(own))
        XCTAssertEqual(PeerAddresses.label(own), "inproc:embedded-0.1", "the token stays out of the logs")
        XCTAssertEqual(PeerAddresses.label(forged + [10]), "0x" + (forged + [10]).map { String(format: "%02x", $0) }.joined(),
                       "another peer's id is shown as hex, never as text that could forge a log line")

        let core = try core()
        let executor = StepExecutor(source: source, stagingFolder: staging)
        var believed: [String] = []
        for (peer, name) in [(forged, "forged-0"), (own, "embedded-0")] {
            try join(core, peer, name: name)
            var tile: (Uqcit_V2_TaskAssignment, TaskOutcome)?
            for _ in 0..<plan.assignments.count * 8 where tile == nil {
                try ready(core, peer)
                try core.tick(now: at(0))
                let a = try XCTUnwrap(try assignments(peer).first)
                let task = try TaskSpec(wire: a), outcome = try executor.execute(task)
                if task.kind == .quantize { tile = (a, outcome) } else { try say(core, peer, result(a, outcome)) }
            }
            var (a, outcome) = try XCTUnwrap(tile)
            outcome.outputs[0].sha256 = String(repeating: "0", count: 64)
            try say(core, peer, result(a, outcome))
            if peer == forged {
                XCTAssertTrue(log.contains("refused the result of task \(a.taskID) attempt 1"), log)
                XCTAssertTrue(log.contains("has SHA-256"), log)
                XCTAssertFalse(try journaledDone().contains(a.taskID))
            } else {
                XCTAssertTrue(try journaledDone().contains(a.taskID), log)
                believed.append(a.taskID)
            }
        }
        core.finish()
        XCTAssertTrue(log.contains("believed the digests of 1 written by this process's embedded workers"), log)
        XCTAssertEqual(believed.count, 1)
    }

    /// Stream mode, a QUANTIZE task leased to w1: analyses are computed for real until one is handed out.
    private func leaseAQuantizeTask(_ core: BrokerCore) throws -> (Uqcit_V2_TaskAssignment, TaskSpec) {
        let executor = StepExecutor(source: source, stagingFolder: staging)
        try join(core, w1, name: "w1")
        for _ in 0..<plan.assignments.count + 1 {
            try ready(core, w1)
            try core.tick(now: at(0))
            let a = try XCTUnwrap(try assignments(w1).first)
            let task = try TaskSpec(wire: a)
            if task.kind == .quantize { return (a, task) }
            try say(core, w1, result(a, try executor.execute(task)))
        }
        throw XCTSkip("no QUANTIZE task in the plan")
    }

    private func chunk(_ a: Uqcit_V2_TaskAssignment, _ name: String, offset: Int, bytes: Int, last: Bool) -> Uqcit_V2_Envelope.OneOf_Body {
        var c = Uqcit_V2_Chunk()
        c.taskID = a.taskID; c.attempt = a.attempt; c.fileName = name; c.offset = UInt64(offset); c.data = Data(count: bytes); c.last = last
        return .chunk(c)
    }

    /// The files in the staging folder, temp files included.
    private func stagingListing() throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: staging).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: staging + "/" + name, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    func testAChunkOfAFileItsTaskDoesNotWriteIsRefused() throws {
        let core = try core(storage: .stream)
        let (a, task) = try leaseAQuantizeTask(core)
        let before = try stagingListing()
        try say(core, w1, chunk(a, "layer_0/elsewhere.bin", offset: 0, bytes: 16, last: true))
        XCTAssertTrue(log.contains("worker w1 (an unknown address): a chunk of 'layer_0/elsewhere.bin', which task \(a.taskID) does not write; ignored"), log)
        var stranger = a; stranger.taskID = "Q-none"
        let name = try XCTUnwrap(ResultValidator.expectedOutputs(task).keys.first)
        try say(core, w1, chunk(stranger, name, offset: 0, bytes: 16, last: true))
        XCTAssertTrue(log.contains("ignoring a chunk of \(name) for task Q-none attempt \(a.attempt) from worker w1"), log)
        XCTAssertEqual(try stagingListing(), before, "nothing written")
        let acks = try outbox.take(w1).filter { if case .chunkAck = $0.body { return true } else { return false } }
        XCTAssertEqual(acks.count, 2, "refused chunks are still acknowledged, so the worker's window moves on")
    }

    func testAChunkPastWhatItsTaskMayWriteIsRefusedAndThePartialFileRemoved() throws {
        let core = try core(storage: .stream)
        let (a, task) = try leaseAQuantizeTask(core)
        let (name, maxBytes) = try XCTUnwrap(ResultValidator.expectedOutputs(task).first)
        let before = try stagingListing()
        try say(core, w1, chunk(a, name, offset: 0, bytes: 1000, last: false))
        XCTAssertEqual(try stagingListing().count, before.count + 1, "a temp file while the file arrives")
        try say(core, w1, chunk(a, name, offset: 1000, bytes: maxBytes - 999, last: true))
        XCTAssertTrue(log.contains("worker w1 (an unknown address): bad chunk for task \(a.taskID): chunk of \(name) at offset 1000 would take it past the \(maxBytes) bytes task \(a.taskID) may write; the partial file is removed"), log)
        XCTAssertEqual(try stagingListing(), before, "the partial file is gone and nothing took its place")

        try say(core, w1, chunk(a, name, offset: 0, bytes: 1000, last: false))
        try say(core, w1, chunk(a, name, offset: 1000, bytes: maxBytes - 1000, last: true))
        XCTAssertTrue(FileManager.default.fileExists(atPath: staging + "/" + name), "a file of exactly the bound is accepted")
    }

    func testHalfSentFilesGoWithTheirLease() throws {
        let core = try core(storage: .stream, leaseSeconds: 2)
        let (a, task) = try leaseAQuantizeTask(core)
        let name = try XCTUnwrap(ResultValidator.expectedOutputs(task).keys.first)
        let before = try stagingListing()
        try say(core, w1, chunk(a, name, offset: 0, bytes: 1000, last: false))
        XCTAssertEqual(try stagingListing().count, before.count + 1)
        try say(core, w1, .heartbeat(Uqcit_V2_Heartbeat()), at: 2.5)
        try core.tick(now: at(2.5))
        XCTAssertTrue(log.contains("lease of task \(a.taskID) attempt \(a.attempt) on worker w1"), log)
        XCTAssertEqual(try stagingListing(), before, "the expired lease's temp file is removed")
    }
}

/// What the broker sent, per peer, in order.
private final class RecordingOutbox: PeerOutbox {
    private var sent: [(peer: [UInt8], bytes: [UInt8])] = []

    func send(_ peer: [UInt8], _ bytes: [UInt8]) -> Bool {
        sent.append((peer, bytes))
        return true
    }

    /// The envelopes sent to `peer` since the last call, heartbeats left out.
    func take(_ peer: [UInt8]) throws -> [Uqcit_V2_Envelope] {
        let mine = sent.filter { $0.peer == peer }
        sent.removeAll { $0.peer == peer }
        return try mine.map { try EnvelopeCodec.decode($0.bytes) }.filter { if case .heartbeat = $0.body { return false } else { return true } }
    }
}
