import Foundation
import XCTest

/// A GGUF job on the farm: `worker join` processes quantize SmolLM2's GGUF (a real 135M model) into ggml blocks,
/// the coordinator streams the package into a GGUF file, and it is the same file an embedded run writes.
final class GGUFJobTests: XCTestCase {
    func testJoinedWorkersWriteTheEmbeddedRunsGGUF() throws {
        let smol = Cluster.tinyLlama + "/../smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf"
        let dir = Cluster.temporaryFolder("gguf-job")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Two layers keep the test short; the rules still see the whole model's 30 layers.
        let common = ["--model", smol, "--profile", "gguf-q4_k_m", "--layers", "0..1", "--quiet"]
        let embedded = try Child("coordinator", ["start", "--out", dir + "/embedded", "--workers", "2", "--gguf", dir + "/embedded.gguf"] + common)
        XCTAssertEqual(embedded.exitStatus(within: 120), 0, embedded.stderr)

        let coordinator = try Child("coordinator", ["start", "--out", dir + "/farm", "--workers", "0", "--gguf", dir + "/farm.gguf",
                                                    "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200"] + common)
        let endpoint = try coordinator.listeningEndpoint()
        let workers = try (1...2).map { try Child("worker", ["join", endpoint, "--threads", "1", "--name", "g\($0)"]) }
        XCTAssertEqual(coordinator.exitStatus(within: 120), 0, coordinator.stderr)
        for w in workers { XCTAssertEqual(w.exitStatus(within: 10), 0, w.stderr) }

        let a = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/embedded.gguf"))
        XCTAssertEqual(a, FileManager.default.contents(atPath: dir + "/farm.gguf"))
        XCTAssertEqual(Array(a.prefix(4)), Array("GGUF".utf8))
        XCTAssertGreaterThan(a.count, 3_000_000)
    }
}
