import Foundation
import XCTest
@testable import Coordinator

/// `coordinator start --bind` with no embedded workers, and `worker join` processes doing all the work.
final class JoinedWorkersTests: XCTestCase {
    func testThreeJoinedWorkersWriteTheSameBytesAsOneEmbeddedWorker() throws {
        let out = Cluster.temporaryFolder("joined")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                                    "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        // A little delay per task so that all three have joined before the work runs out.
        let workers = try (1...3).map { try Child("worker", ["join", endpoint, "--threads", "1", "--name", "w\($0)"],
                                                  environment: ["UQCIT_TEST_TASK_DELAY_MS": "30"]) }
        XCTAssertEqual(coordinator.exitStatus(within: 60), 0, coordinator.stderr)
        for w in workers { XCTAssertEqual(w.exitStatus(within: 10), 0, w.stderr) }
        try Cluster.assertIdenticalToReference(out)

        let status = try JobStatus.read(outputFolder: out)
        XCTAssertTrue(status.complete)
        XCTAssertEqual(status.done, status.tasks)
        XCTAssertEqual(Set(status.workers.map(\.name)), ["w1", "w2", "w3"])
        XCTAssertEqual(status.workers.reduce(0) { $0 + $1.tasksDone }, status.tasks)
        XCTAssertGreaterThan(status.workers.filter { $0.tasksDone > 0 }.count, 1, "the work was shared")
        for w in status.workers { XCTAssertTrue(w.peer.hasPrefix("tcp://127.0.0.1:"), w.peer) }
        XCTAssertTrue(workers[0].stderr.contains("coordinator says shut down: job finished"), workers[0].stderr)
    }

    func testPlainTCPBeyondLoopbackIsRefusedWithoutKeys() throws {
        let out = Cluster.temporaryFolder("insecure")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                                    "--bind", "tcp://0.0.0.0:*", "--quiet"])
        XCTAssertEqual(coordinator.exitStatus(within: 20), 1)
        XCTAssertTrue(coordinator.stderr.contains("refusing to bind tcp://0.0.0.0:* without CurveZMQ keys"), coordinator.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing was claimed")
    }
}

/// `coordinator start --config FILE`: the settings of the flags, from YAML.
final class ConfigFileTests: XCTestCase {
    func testConfigFileRunsTheJobAndUnknownKeysAreRefused() throws {
        let dir = Cluster.temporaryFolder("config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "model: \(Cluster.tinyLlama)\nout: package\nworkers: 2\nheartbeat_interval_ms: 300\n".write(toFile: dir + "/job.yaml", atomically: true, encoding: .utf8)
        let run = try Child("coordinator", ["start", "--config", dir + "/job.yaml", "--quiet"])
        XCTAssertEqual(run.exitStatus(within: 60), 0, run.stderr)
        try Cluster.assertIdenticalToReference(dir + "/package")

        try "model: \(Cluster.tinyLlama)\nworkrs: 2\n".write(toFile: dir + "/typo.yaml", atomically: true, encoding: .utf8)
        let typo = try Child("coordinator", ["start", "--config", dir + "/typo.yaml", "--quiet"])
        XCTAssertNotEqual(typo.exitStatus(within: 20), 0)
        XCTAssertTrue(typo.stderr.contains("unknown key 'workrs'"), typo.stderr)
    }
}

/// Stream storage: no shared staging folder; outputs travel up as chunks, a COMPENSATE task's tiles travel down.
final class StreamModeTests: XCTestCase {
    func testStreamModeMovesEveryOutputAsChunksAndWritesTheSameBytes() throws {
        let out = Cluster.temporaryFolder("stream")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0", "--storage", "stream",
                                                    "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        let workers = try (1...2).map { try Child("worker", ["join", endpoint, "--threads", "1", "--name", "s\($0)"]) }
        XCTAssertEqual(coordinator.exitStatus(within: 60), 0, coordinator.stderr)
        for w in workers { XCTAssertEqual(w.exitStatus(within: 10), 0, w.stderr) }
        try Cluster.assertIdenticalToReference(out)

        var outputs = 0, done: [String] = []
        for case let .done(task, _, _, outcome) in Cluster.journal(out) {
            outputs += outcome.outputs.count
            done.append(task)
        }
        // Tiles of compensated tensors (task C<i> needs every Q<i>.<k>), each under one 16 MiB chunk here.
        let compensated = done.filter { $0.hasPrefix("C") }.map { "Q" + $0.dropFirst() + "." }
        XCTAssertFalse(compensated.isEmpty)
        let tilesDown = done.filter { t in compensated.contains { t.hasPrefix($0) } }.count
        let line = try XCTUnwrap(coordinator.stderr.split(separator: "\n").first { $0.contains("stream mode: received") }, coordinator.stderr)
        XCTAssertTrue(line.contains("received \(outputs) files"), "every output crossed as chunks: \(line)")
        XCTAssertTrue(line.hasSuffix("sent \(tilesDown) chunks to them"), "each compensated tensor's tiles went down: \(line)")
    }
}
