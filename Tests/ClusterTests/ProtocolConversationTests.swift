import Foundation
import XCTest
@testable import Coordinator
import UQCITProtocol

/// The coordinator's side of the conversation, driven by a hand-written worker: failures are retried with the
/// next attempt, and a report that no longer matches a lease is ignored.
final class ProtocolConversationTests: XCTestCase {
    func testFailedTaskIsRetriedAndDuplicateReportsAreIgnored() throws {
        let out = Cluster.temporaryFolder("conversation")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                                    "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200", "--liveness", "25", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        let context = try ZMQContext()
        let fake = try ZMQSocket(context: context, type: .dealer)
        try fake.set(.linger(milliseconds: 0))
        try fake.connect(endpoint)
        func send(_ jobID: String, _ body: Uqcit_V2_Envelope.OneOf_Body) throws {
            XCTAssertTrue(try fake.send(frames: [try EnvelopeCodec.encode(Uqcit_V2_Envelope(jobID: jobID, body: body))]))
        }
        /// The next message that is not a heartbeat.
        func next() throws -> Uqcit_V2_Envelope {
            while true {
                let frames = try XCTUnwrap(try fake.receive(timeoutMs: 5000), "the coordinator answers")
                let e = try EnvelopeCodec.decode(frames[0])
                if case .heartbeat = e.body { continue }
                return e
            }
        }
        var hello = Uqcit_V2_Hello(); hello.workerName = "fake"; hello.threads = 1
        try send("", .hello(hello))
        let welcome = try next()
        XCTAssertEqual(welcome.welcome.heartbeatIntervalMs, 200)
        let job = welcome.jobID
        var ready = Uqcit_V2_Ready(); ready.credits = 1
        try send(job, .ready(ready))
        let first = try next().taskAssignment
        XCTAssertEqual(first.attempt, 1)
        var failed = Uqcit_V2_TaskFailed(); failed.taskID = first.taskID; failed.attempt = 1; failed.reason = "disk hiccup"; failed.retryable = true
        try send(job, .taskFailed(failed))
        try send(job, .taskFailed(failed))        // a duplicate: no lease matches it any more
        try send(job, .ready(ready))
        let second = try next().taskAssignment
        XCTAssertEqual(second.taskID, first.taskID, "a failed task goes to the front of the queue")
        XCTAssertEqual(second.attempt, 2)
        var leave = Uqcit_V2_Shutdown(); leave.reason = "test over"
        try send(job, .shutdown(leave))             // leaving requeues the lease for attempt 3

        let worker = try Child("worker", ["join", endpoint, "--threads", "2", "--name", "real"])
        XCTAssertEqual(coordinator.exitStatus(within: 60), 0, coordinator.stderr)
        XCTAssertEqual(worker.exitStatus(within: 10), 0, worker.stderr)
        try Cluster.assertIdenticalToReference(out)
        let log = coordinator.stderr
        XCTAssertTrue(log.contains("task \(first.taskID) attempt 1 failed on worker fake"), log)
        XCTAssertTrue(log.contains("ignoring a late or duplicate failure for task \(first.taskID) attempt 1 from worker fake"), log)
        XCTAssertTrue(log.contains("worker fake (tcp://127.0.0.1:"), log)
        let retried = try XCTUnwrap(try JobStatus.read(outputFolder: out).retried.first { $0.task == first.taskID })
        XCTAssertEqual(retried.workers, ["fake", "fake", "real"])
        XCTAssertEqual(retried.doneOnAttempt, 3)
    }
}
