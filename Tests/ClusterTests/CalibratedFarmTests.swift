import Foundation
import XCTest
import TestSupport
import COpenBLAS
@testable import Engine
@testable import Pipeline
@testable import Coordinator

/// A calibrated job (gptq-int3, 4 shards per block) on a farm of `worker join` processes, with a worker and then
/// the coordinator killed in the middle of the layer pipeline: the package is the embedded run's, byte for byte.
final class CalibratedFarmTests: XCTestCase {
    private var folder = ""
    private var profile: String { folder + "/gptq-small.yaml" }
    private var text: String { folder + "/calibration.txt" }

    override func setUpWithError() throws {
        folder = Cluster.temporaryFolder("calibrated")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // Python text disjoint from tiny-llama's eval.txt: the repository's scripts.
        let scripts = try FileManager.default.contentsOfDirectory(atPath: Cluster.repoRoot + "/scripts").filter { $0.hasSuffix(".py") }.sorted()
        var data = Data()
        for s in scripts { data += FileManager.default.contents(atPath: Cluster.repoRoot + "/scripts/" + s)! }
        try data.write(to: URL(fileURLWithPath: text))
        try """
            inherits: \(Cluster.repoRoot)/cluster-config/profiles/gptq-int3.yaml
            calibration: {sequence_length: 256, sequences: 16, shard_sequences: 4, damping: 0.01, block_size: 128, act_order: true}
            """.write(toFile: profile, atomically: true, encoding: .utf8)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private func embedded() throws -> [String: Data] {
        let out = folder + "/embedded"
        openblas_set_num_threads(1)
        _ = try CompressionJob.run(JobOptions(model: Cluster.tinyLlama, out: out, profile: ProfileLoader.load(profile), workers: 2, progress: false,
                                              calibration: CalibrationText(file: text)), log: ClusterLog { _ in })
        return try Cluster.packageFiles(out)
    }

    private func assertSame(_ package: String, as expected: [String: Data], line: UInt = #line) throws {
        let got = try Cluster.packageFiles(package)
        XCTAssertEqual(Set(got.keys), Set(expected.keys), line: line)
        for (name, bytes) in expected where got[name] != bytes { XCTFail("\(name) differs from the embedded run", line: line) }
    }

    private func done(_ out: String) -> Set<String> {
        var s = Set<String>()
        for case let .done(task, _, _, _) in Cluster.journal(out) { s.insert(task) }
        return s
    }

    func testTwoJoinedWorkersWriteTheEmbeddedBytes() throws {
        let expected = try embedded()
        let out = folder + "/farm"
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0", "--profile", profile,
                                                    "--calibration", text, "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        let workers = try (1...2).map { try Child("worker", ["join", endpoint, "--threads", "1", "--name", "w\($0)", "--log-tasks"],
                                                  environment: ["UQCIT_TEST_TASK_DELAY_MS": "20"]) }
        XCTAssertEqual(coordinator.exitStatus(within: 120), 0, coordinator.stderr)
        for w in workers { XCTAssertEqual(w.exitStatus(within: 10), 0, w.stderr) }
        try assertSame(out, as: expected)
        // --log-tasks: a line per task with its kind and the worker's peak resident memory while it ran.
        var peaks: [String: [Double]] = [:]
        let line = /task \S+ \((\w+)\) took [0-9.]+ s, peak resident memory ([0-9.]+) MB/
        for w in workers { for m in w.stderr.matches(of: line) { peaks[String(m.1), default: []].append(Double(m.2)!) } }
        for kind in ["capture", "propagate", "quantize"] {
            let p = try XCTUnwrap(peaks[kind], "no \(kind) task logged")
            XCTAssertTrue(p.allSatisfy { $0 > 1 && $0 < 4096 }, "\(kind): \(p)")
        }
        let status = try JobStatus.read(outputFolder: out)
        XCTAssertEqual(status.done, status.tasks)
        XCTAssertTrue(status.workers.allSatisfy { $0.tasksDone > 0 }, "the work was shared")
    }

    func testAWorkerAndThenTheCoordinatorKilledMidPipelineResumeToTheEmbeddedBytes() throws {
        let expected = try embedded()
        let out = folder + "/killed"
        let arguments = ["start", "--model", Cluster.tinyLlama, "--out", out, "--profile", profile, "--calibration", text, "--quiet"]
        let first = try Child("coordinator", arguments + ["--workers", "0", "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "500", "--liveness", "3"])
        let endpoint = try first.listeningEndpoint()
        // The victim sleeps 0.5 s before every task (less than the 1.5 s it may stay silent): it is killed as its
        // first CAPTURE starts.
        let victim = try Child("worker", ["join", endpoint, "--threads", "1", "--name", "victim"], environment: ["UQCIT_TEST_TASK_DELAY_MS": "500"])
        var captured: String?
        XCTAssertTrue(Cluster.eventually(within: 30) {
            for case let .lease(task, _, "victim") in Cluster.journal(out) where task.hasPrefix("K") { captured = task }
            return captured != nil
        }, "the victim never got a CAPTURE; coordinator:\n\(first.stderr)")
        victim.kill9()
        let survivor = try Child("worker", ["join", endpoint, "--threads", "1", "--name", "survivor"], environment: ["UQCIT_TEST_TASK_DELAY_MS": "50"])
        // Block 1 propagated on some shards, not all: the coordinator dies in the middle of the pipeline.
        XCTAssertTrue(Cluster.eventually(within: 90) { done(out).contains { $0.hasPrefix("P1.") } }, first.stderr)
        first.kill9()
        survivor.kill9()
        let before = done(out)
        XCTAssertFalse(before.contains("P2.3"), "killed before the end")
        // Block 0's activations and H went with its assembled folder; block 2's input is still staged.
        XCTAssertTrue(Cluster.journal(out).contains { if case .folder("layer_000", _, _) = $0 { true } else { false } })
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/.uqcit/staging/" + StagingNames.calibrationFolder(layer: 0)))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/.uqcit/staging/" + StagingNames.hidden(layer: 2, shard: 0))
                      || !before.contains("P1.0"))

        let second = try Child("coordinator", arguments + ["--workers", "2", "--json"])
        XCTAssertEqual(second.exitStatus(within: 120), 0, second.stderr)
        try assertSame(out, as: expected)
        let summary = try JSONDecoder().decode(JobSummary.self, from: Data(second.stdout.utf8))
        XCTAssertEqual(summary.resumedTasks, before.count, "every task journaled as done, layer passes included, was skipped")
        XCTAssertTrue(before.contains("K1.0") && before.contains("P0.3"), "\(before.sorted())")
        let rerun = try XCTUnwrap(captured)
        XCTAssertTrue(Cluster.journal(out).contains { if case let .done(task, _, worker, _) = $0 { task == rerun && worker != "victim" } else { false } },
                      "\(rerun), lost with the victim, was run again elsewhere")
    }

    /// gptq-auto, whose allocation is made block by block mid-job: the coordinator killed after some blocks were
    /// allocated and before the end resumes to the uninterrupted run's bytes, allocating the rest the same way.
    func testCalibratedAutoKilledMidJobResumesToTheSameBytes() throws {
        try """
            inherits: \(Cluster.repoRoot)/cluster-config/profiles/gptq-auto.yaml
            calibration: {sequence_length: 256, sequences: 16, shard_sequences: 4, damping: 0.01, block_size: 128, act_order: false}
            """.write(toFile: folder + "/auto-small.yaml", atomically: true, encoding: .utf8)
        func arguments(_ out: String) -> [String] {
            ["start", "--model", Cluster.tinyLlama, "--out", out, "--profile", folder + "/auto-small.yaml", "--target-bpw", "3.0",
             "--calibration", text, "--workers", "2", "--quiet"]
        }
        let whole = try Child("coordinator", arguments(folder + "/auto-whole"))
        XCTAssertEqual(whole.exitStatus(within: 120), 0, whole.stderr)
        let out = folder + "/auto-killed"
        let first = try Child("coordinator", arguments(out), environment: ["UQCIT_TEST_TASK_DELAY_MS": "30"])
        // Block 1's MEASURE tasks done (block 0 and 1 allocated), block 3 not yet quantized.
        XCTAssertTrue(Cluster.eventually(within: 90) { done(out).contains { $0.hasPrefix("P1.") } }, first.stderr)
        first.kill9()
        XCTAssertTrue(done(out).contains { $0.hasPrefix("M") }, "some blocks were allocated before the kill")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/uqcit_metadata.json"), "killed before the end")
        let second = try Child("coordinator", arguments(out))
        XCTAssertEqual(second.exitStatus(within: 120), 0, second.stderr)
        try assertSame(out, as: try Cluster.packageFiles(folder + "/auto-whole"))
    }
}
