import Foundation
import XCTest
@testable import Coordinator
import UQCITProtocol

/// A worker that heartbeats but never answers: its lease passes its deadline, the task finishes on another
/// worker, and the stalled worker's late answer is ignored. Its credits never exceed its threads.
final class StalledWorkerTests: XCTestCase {
    func testAStalledLeaseExpiresAndTheTaskFinishesElsewhere() throws {
        let out = Cluster.temporaryFolder("stalled")
        let config = out + ".yaml"
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: config) }
        try Data("lease_min_seconds: 1\nlease_seconds_per_mparam: 0\n".utf8).write(to: URL(fileURLWithPath: config))
        let coordinator = try Child("coordinator", ["start", "--config", config, "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                                    "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200", "--liveness", "25", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        let stalled = try FakeWorker(endpoint: endpoint)
        try stalled.join(name: "stalled", threads: 1)
        try stalled.ready(5)                      // more credits than threads: capped at one
        let held = try stalled.next().taskAssignment
        XCTAssertNil(try stalled.socket.receive(timeoutMs: 500).flatMap { try? EnvelopeCodec.decode($0[0]) }.flatMap {
            if case .taskAssignment(let a) = $0.body { return a } else { return nil }
        }, "a one-thread worker holds one task at a time")

        XCTAssertTrue(Cluster.eventually(within: 10) {
            try? stalled.heartbeat()
            return coordinator.stderr.contains("lease of task \(held.taskID) attempt 1 on worker stalled")
        }, coordinator.stderr)
        let worker = try Child("worker", ["join", endpoint, "--threads", "2", "--name", "real"])
        // Heartbeats keep the stalled worker alive the whole time; its answer comes after the deadline.
        _ = Cluster.eventually(within: 120) {
            try? stalled.heartbeat()
            try? stalled.drain()
            return !coordinator.process.isRunning || Cluster.journal(out).contains { if case .done(held.taskID, _, _, _) = $0 { return true } else { return false } }
        }
        try stalled.result(for: held, .with { $0.seconds = 1 })
        _ = Cluster.eventually(within: 120) { try? stalled.heartbeat(); try? stalled.drain(); return !coordinator.process.isRunning }
        XCTAssertEqual(coordinator.exitStatus(within: 10), 0, coordinator.stderr)
        XCTAssertEqual(worker.exitStatus(within: 10), 0, worker.stderr)
        try Cluster.assertIdenticalToReference(out)
        let retried = try XCTUnwrap(try JobStatus.read(outputFolder: out).retried.first { $0.task == held.taskID })
        XCTAssertEqual(retried.workers, ["stalled", "real"])
        XCTAssertEqual(retried.doneOnAttempt, 2)
        if coordinator.stderr.contains("from worker stalled") {
            XCTAssertTrue(coordinator.stderr.contains("ignoring a late or duplicate result for task \(held.taskID) attempt 1 from worker stalled"), coordinator.stderr)
        }
    }
}
