import Foundation
import XCTest
@testable import Pipeline

/// The auto profile on the farm: its MEASURE tasks run on joined workers like any other task, the allocation is
/// made between them and the ANALYZE tasks, and a coordinator killed after the allocation resumes to the same bytes.
final class AutoOnTheClusterTests: XCTestCase {
    func testAutoMeasuresOnJoinedWorkersAndResumesToTheSameBytes() throws {
        let auto = ["--profile", "auto", "--target-bpw", "3.5", "--quiet"]
        let reference = Cluster.temporaryFolder("auto-ref"), out = Cluster.temporaryFolder("auto-farm")
        defer { try? FileManager.default.removeItem(atPath: reference); try? FileManager.default.removeItem(atPath: out) }
        let embedded = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", reference, "--workers", "1"] + auto)
        XCTAssertEqual(embedded.exitStatus(within: 120), 0, embedded.stderr)

        let farm = ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0", "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200"] + auto
        func join(_ endpoint: String, _ names: [String]) throws -> [Child] {
            try names.map { try Child("worker", ["join", endpoint, "--threads", "1", "--name", $0], environment: ["UQCIT_TEST_TASK_DELAY_MS": "40"]) }
        }
        func done() -> [String: String] {
            var d: [String: String] = [:]
            for case let .done(task, _, worker, _) in Cluster.journal(out) { d[task] = worker }
            return d
        }
        let first = try Child("coordinator", farm)
        var workers = try join(try first.listeningEndpoint(), ["m1", "m2"])
        // Kill the coordinator once the allocation has been made and some ANALYZE tasks have finished.
        XCTAssertTrue(Cluster.eventually(within: 60) { done().keys.contains { $0.hasPrefix("A") } }, first.stderr)
        first.kill9()
        for w in workers { w.kill9() }
        let before = done()
        XCTAssertEqual(before.keys.filter { $0.hasPrefix("M") }.count, 30, "every MEASURE task ran before any ANALYZE")
        XCTAssertTrue(before.filter { $0.key.hasPrefix("M") }.values.allSatisfy { ["m1", "m2"].contains($0) }, "\(before)")

        let second = try Child("coordinator", farm)
        workers = try join(try second.listeningEndpoint(), ["r1", "r2"])
        XCTAssertEqual(second.exitStatus(within: 120), 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("tasks already done (skipped)"), second.stderr)
        let files = try Cluster.packageFiles(out), expected = try Cluster.packageFiles(reference)
        XCTAssertEqual(Set(files.keys), Set(expected.keys))
        for (k, v) in expected { XCTAssertEqual(files[k], v, "\(k) differs from the embedded auto run") }
        // Nothing finished before the kill ran again after it.
        let after = done()
        for (task, worker) in before { XCTAssertEqual(after[task], worker, "\(task) ran again") }
    }
}
