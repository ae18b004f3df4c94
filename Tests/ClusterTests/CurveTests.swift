import Foundation
import XCTest
@testable import Coordinator

/// CurveZMQ between coordinator and workers: only allowed keys get work; a wrong server key is reported.
final class CurveTests: XCTestCase {
    func testOnlyAllowedWorkerKeysGetTasksAndAWrongServerKeyIsReported() throws {
        let out = Cluster.temporaryFolder("curve"), keys = Cluster.temporaryFolder("keys")
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: keys) }
        for name in ["coordinator", "allowed", "stranger"] {
            XCTAssertEqual(try Child("coordinator", ["keys", "generate", "--dir", keys, "--name", name]).exitStatus(within: 10), 0)
        }
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                                    "--bind", "tcp://127.0.0.1:*", "--curve-key", keys + "/coordinator.key_secret",
                                                    "--allow", keys + "/allowed.key", "--heartbeat-ms", "200", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        XCTAssertTrue(coordinator.stderr.contains("(CURVE)"))

        let stranger = try Child("worker", ["join", endpoint, "--name", "stranger", "--key", keys + "/stranger.key_secret",
                                            "--server-key", keys + "/coordinator.key"])
        XCTAssertEqual(stranger.exitStatus(within: 20), 1, stranger.stderr)
        XCTAssertTrue(stranger.stderr.contains("the coordinator refused this worker's key"), stranger.stderr)
        let strangerKey = try String(contentsOfFile: keys + "/stranger.key", encoding: .utf8).components(separatedBy: "public-key = ").last!
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(Cluster.eventually(within: 5) { coordinator.stderr.contains("with public key \(strangerKey): not in the allowed worker keys") },
                      coordinator.stderr)

        let impostor = try Child("worker", ["join", endpoint, "--name", "confused", "--key", keys + "/allowed.key_secret",
                                            "--server-key", keys + "/stranger.key"])
        XCTAssertEqual(impostor.exitStatus(within: 20), 1, impostor.stderr)
        XCTAssertTrue(impostor.stderr.contains("the server key given to this worker is not the coordinator's"), impostor.stderr)

        XCTAssertEqual(Cluster.journal(out).filter { if case .lease = $0 { true } else { false } }.count, 0, "no task went out yet")
        let allowed = try Child("worker", ["join", endpoint, "--name", "allowed", "--key", keys + "/allowed.key_secret",
                                           "--server-key", keys + "/coordinator.key"])
        XCTAssertEqual(coordinator.exitStatus(within: 60), 0, coordinator.stderr)
        XCTAssertEqual(allowed.exitStatus(within: 10), 0, allowed.stderr)
        try Cluster.assertIdenticalToReference(out)
        XCTAssertEqual(try JobStatus.read(outputFolder: out).workers.map(\.name), ["allowed"])
    }
}
