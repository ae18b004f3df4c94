import Foundation
import XCTest
import TestSupport
@testable import Engine
@testable import Pipeline
@testable import Coordinator

/// `coordinator simulate` at test size: Llama 3.1 8B's 2,000-odd tasks on 20 simulated workers, in seconds.
final class SimulationTests: XCTestCase {
    func simulate(_ out: String, backups: Bool, slowFraction: Double = 0) throws -> SimulationSummary {
        let farm = FarmModel(workers: 20, mparamsPerSecond: 200, timeFactor: 1, slowFraction: slowFraction, slowdown: 10, pollerThreads: 2)
        return try SimulatedJob.run(SimulationOptions(model: "synthetic:llama-3.1-8b", out: out, profile: try ProfileLoader.load(TestPaths.profilePath("uqcit")),
                                                      farm: farm, heartbeat: HeartbeatSettings(intervalMs: 200, liveness: 3),
                                                      backupTasks: backups, progress: false), log: ClusterLog { _ in })
    }

    func testSimulatedJobFinishesAndBackupResultsLeaveTheAccountingUnchanged() throws {
        let plain = TestPaths.temporaryFolder("simulate"), backed = TestPaths.temporaryFolder("simulate-backups")
        defer { for p in [plain, backed] { try? FileManager.default.removeItem(atPath: p) } }
        let expected = try JobPlan(source: try SyntheticSource(name: "llama-3.1-8b"), profile: try ProfileLoader.load(TestPaths.profilePath("uqcit"))).taskCount

        let a = try simulate(plain, backups: false)
        XCTAssertEqual(a.tasks, expected)
        XCTAssertEqual(a.tasksDone, expected)
        XCTAssertEqual(a.backupLeases, 0)
        XCTAssertGreaterThan(a.package.bytes, 0)
        XCTAssertEqual(try JobStatus.read(outputFolder: plain).done, expected, "every task journaled once as done")

        // A quarter of the workers 10x slower: idle workers back up their tasks at the end, and whichever result
        // comes first, the package is the same.
        let b = try simulate(backed, backups: true, slowFraction: 0.25)
        XCTAssertEqual(b.tasksDone, expected)
        XCTAssertGreaterThan(b.backupLeases, 0)
        XCTAssertEqual(b.package, a.package)
    }
}
