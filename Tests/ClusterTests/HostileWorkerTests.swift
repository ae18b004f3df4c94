import Foundation
import XCTest
@testable import Coordinator
import UQCITProtocol

/// A welcomed worker that answers with results no task may produce: the coordinator refuses them without
/// trapping or journaling them, requeues the task, quarantines the worker, and the job still finishes with the
/// same bytes as the embedded run.
final class HostileWorkerTests: XCTestCase {
    func testInvalidResultsAreRefusedRequeuedAndTheirWorkerQuarantined() throws {
        let out = Cluster.temporaryFolder("hostile")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                                    "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200", "--liveness", "25", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        let hostile = try FakeWorker(endpoint: endpoint)
        try hostile.join(name: "hostile\n[uqcit] forged line")
        var leased: [String] = []
        // The probe (a result without its typed part), then a file outside the staging folder with a
        // truncated digest, then an out-of-range analysis.
        let answers: [Uqcit_V2_TaskResult] = [
            .with { $0.seconds = 0.01 },
            .with {
                $0.outputs = [.with { $0.name = "../../journal"; $0.size = 1; $0.sha256 = Data([0]) }]
                $0.analysis = .with { $0.rotation = .with { $0.kind = "none" } }
                $0.seconds = 0.01
            },
            .with {
                $0.analysis = .with { $0.rotation = .with { $0.kind = "none"; $0.size = 5 }; $0.highColumns = [99_999_999] }
                $0.seconds = 0.01
            },
        ]
        for answer in answers {
            try hostile.ready()
            let a = try hostile.next().taskAssignment
            leased.append(a.taskID)
            try hostile.result(for: a, answer)
        }
        XCTAssertEqual(Set(leased).count, 1, "each refused task went back to the front of the queue: \(leased)")
        XCTAssertTrue(Cluster.eventually(within: 10) { coordinator.stderr.contains("quarantined after 3 invalid results") }, coordinator.stderr)
        try hostile.ready()

        let worker = try Child("worker", ["join", endpoint, "--threads", "2", "--name", "real"])
        XCTAssertEqual(coordinator.exitStatus(within: 120), 0, coordinator.stderr)
        XCTAssertEqual(worker.exitStatus(within: 10), 0, worker.stderr)
        try Cluster.assertIdenticalToReference(out)

        let log = coordinator.stderr
        XCTAssertTrue(log.contains("refused the result of task \(leased[0]) attempt 1 from worker hostile\\u{a}[uqcit] forged line (tcp://127.0.0.1:"), log)
        XCTAssertTrue(log.contains("TaskResult.result: missing"), log)
        XCTAssertTrue(log.contains("TaskResult.outputs[0].sha256: 1 bytes"), log)
        XCTAssertTrue(log.contains("rotation size 5,"), log)
        XCTAssertFalse(log.split(separator: "\n").contains { $0.hasPrefix("[uqcit] forged line") }, "a peer's name cannot start a log line")
        for case let .done(task, _, worker, _) in Cluster.journal(out) {
            XCTAssertEqual(worker, "real", "task \(task): nothing the quarantined worker said was journaled")
        }
        let status = try JobStatus.read(outputFolder: out)
        XCTAssertTrue(status.complete)
        XCTAssertEqual(status.retried.first { $0.task == leased[0] }?.doneOnAttempt, 4)
    }
}
