import Foundation
import XCTest
@testable import Coordinator

/// SIGKILL in the middle of the job: of a worker, then of the coordinator itself.
final class CrashTests: XCTestCase {
    func testWorkerKilledMidTaskIsReplacedAndTheRerunIsJournaled() throws {
        let out = Cluster.temporaryFolder("kill-worker")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                                    "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200", "--liveness", "3", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        // Every task of the victim sleeps 5 s first: it is certainly mid-task when killed.
        let victim = try Child("worker", ["join", endpoint, "--threads", "1", "--name", "victim"], environment: ["UQCIT_TEST_TASK_DELAY_MS": "5000"])
        var leased: String?
        XCTAssertTrue(Cluster.eventually(within: 20) {
            for case let .lease(task, _, "victim") in Cluster.journal(out) { leased = task }
            return leased != nil
        }, "the victim never got a task; coordinator:\n\(coordinator.stderr)")
        victim.kill9()
        let survivor = try Child("worker", ["join", endpoint, "--threads", "2", "--name", "survivor"])
        XCTAssertEqual(coordinator.exitStatus(within: 60), 0, coordinator.stderr)
        XCTAssertEqual(survivor.exitStatus(within: 10), 0, survivor.stderr)
        try Cluster.assertIdenticalToReference(out)

        let task = try XCTUnwrap(leased)
        XCTAssertTrue(coordinator.stderr.contains("worker victim"), coordinator.stderr)
        XCTAssertTrue(coordinator.stderr.contains("declared dead; requeueing \(task)"), coordinator.stderr)
        let status = try JobStatus.read(outputFolder: out)
        let rerun = try XCTUnwrap(status.retried.first { $0.task == task }, "the journal shows the re-run")
        XCTAssertEqual(rerun.workers, ["victim", "survivor"])
        XCTAssertEqual(rerun.doneOnAttempt, 2)
        XCTAssertTrue(status.complete)
    }

    func testCoordinatorKilledMidJobResumesWithoutRedoingFinishedTasks() throws {
        let out = Cluster.temporaryFolder("kill-coordinator")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let arguments = ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "2", "--quiet"]
        let first = try Child("coordinator", arguments, environment: ["UQCIT_TEST_TASK_DELAY_MS": "100"])
        func doneTasks() -> Set<String> {
            var s = Set<String>()
            for case let .done(task, _, _, _) in Cluster.journal(out) { s.insert(task) }
            return s
        }
        XCTAssertTrue(Cluster.eventually(within: 30) { doneTasks().count >= 24 }, first.stderr)
        first.kill9()
        let doneBefore = doneTasks()
        XCTAssertLessThan(doneBefore.count, Cluster.journal(out).compactMap { if case let .plan(_, _, _, n) = $0 { n } else { nil } }.first ?? 0)
        // A write the crash cut short: the resume removes it.
        let stray = out + "/.uqcit/staging/t0/tile_0.st.uqcit-tmp"
        try FileManager.default.createDirectory(atPath: out + "/.uqcit/staging/t0", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: stray, contents: Data([1, 2, 3]))

        let second = try Child("coordinator", arguments + ["--json"])
        XCTAssertEqual(second.exitStatus(within: 60), 0, second.stderr)
        try Cluster.assertIdenticalToReference(out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stray))
        let summary = try JSONDecoder().decode(JobSummary.self, from: Data(second.stdout.utf8))
        XCTAssertEqual(summary.resumedTasks, doneBefore.count, "every task journaled as done was skipped")
        XCTAssertTrue(second.stderr.contains("\(doneBefore.count) of \(summary.tasks) tasks already done (skipped)"), second.stderr)
        // Nothing finished before the kill was leased again after it.
        let records = Cluster.journal(out)
        let resumeAt = try XCTUnwrap(records.firstIndex { if case .resume = $0 { true } else { false } })
        for case let .lease(task, _, _) in records[resumeAt...] { XCTAssertFalse(doneBefore.contains(task), "\(task) ran again") }
        let status = try JobStatus.read(outputFolder: out)
        XCTAssertEqual(status.sessions, 2)
        XCTAssertEqual(status.skippedOnResume, [doneBefore.count])
        XCTAssertTrue(status.complete)
    }
}

/// Paranoid Pirate on the worker side: the coordinator dies and comes back on the same port; the same worker
/// process notices the silence, reconnects with backoff and finishes the job.
final class CoordinatorRestartTests: XCTestCase {
    func testJoinedWorkerReconnectsToARestartedCoordinator() throws {
        let out = Cluster.temporaryFolder("restart")
        defer { try? FileManager.default.removeItem(atPath: out) }
        func start(_ bind: String) throws -> Child {
            try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0", "--bind", bind,
                                      "--heartbeat-ms", "200", "--liveness", "3", "--quiet"])
        }
        let first = try start("tcp://127.0.0.1:*")
        let endpoint = try first.listeningEndpoint()
        let worker = try Child("worker", ["join", endpoint, "--threads", "1", "--name", "steadfast", "--heartbeat-ms", "200",
                                          "--max-reconnect-delay", "1"], environment: ["UQCIT_TEST_TASK_DELAY_MS": "100"])
        XCTAssertTrue(Cluster.eventually(within: 30) {
            Cluster.journal(out).contains { if case .done = $0 { true } else { false } }
        }, first.stderr)
        first.kill9()
        XCTAssertTrue(Cluster.eventually(within: 10) { worker.stderr.contains("coordinator silent for") }, worker.stderr)
        let second = try start(endpoint)
        XCTAssertEqual(second.exitStatus(within: 60), 0, second.stderr)
        XCTAssertEqual(worker.exitStatus(within: 10), 0, worker.stderr)
        try Cluster.assertIdenticalToReference(out)
        XCTAssertTrue(second.stderr.contains("worker steadfast joined"), second.stderr)
        XCTAssertEqual(try JobStatus.read(outputFolder: out).sessions, 2)
    }
}
