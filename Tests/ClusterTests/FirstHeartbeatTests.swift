import Foundation
import XCTest
@testable import Coordinator

/// A worker busy on its first task keeps to the heartbeat the coordinator's Welcome asks for, not to its own
/// default: a coordinator with a shorter interval does not declare it dead while the task runs.
final class FirstHeartbeatTests: XCTestCase {
    func testAWorkerBusyOnItsFirstTaskHeartbeatsAtTheCoordinatorsInterval() throws {
        let out = Cluster.temporaryFolder("first-heartbeat")
        defer { try? FileManager.default.removeItem(atPath: out) }
        // 200 ms x 3 missed: silent for 0.6 s is dead; the worker's own default interval is 1 s.
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                                    "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200", "--liveness", "3", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        let worker = try Child("worker", ["join", endpoint, "--threads", "1", "--name", "busy"], environment: ["UQCIT_TEST_TASK_DELAY_MS": "2000"])
        XCTAssertTrue(Cluster.eventually(within: 30) {
            Cluster.journal(out).contains { if case .done(_, 1, "busy", _) = $0 { true } else { false } }
        }, "the first task never finished on its first attempt; coordinator:\n\(coordinator.stderr)")
        worker.kill9()
        coordinator.kill9()
        XCTAssertFalse(coordinator.stderr.contains("declared dead"), coordinator.stderr)
    }
}
