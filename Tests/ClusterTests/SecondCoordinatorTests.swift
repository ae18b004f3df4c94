import Foundation
import XCTest
@testable import Pipeline

/// Two coordinators on one --out would interleave the journal: the second is refused, naming the first's pid.
final class SecondCoordinatorTests: XCTestCase {
    func testASecondCoordinatorOnTheSameOutputFolderIsRefused() throws {
        let out = Cluster.temporaryFolder("two-coordinators")
        defer { try? FileManager.default.removeItem(atPath: out) }
        // No workers: the first coordinator waits, holding the folder.
        let first = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                              "--bind", "tcp://127.0.0.1:*", "--quiet"])
        _ = try first.listeningEndpoint()
        let journalBefore = Cluster.journal(out)
        let second = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "1", "--quiet"])
        XCTAssertNotEqual(second.exitStatus(within: 30), 0)
        XCTAssertTrue(second.stderr.contains("another coordinator (pid \(first.process.processIdentifier)) is running this job"), second.stderr)
        XCTAssertEqual(Cluster.journal(out), journalBefore, "the refused coordinator wrote nothing to the journal")
        XCTAssertTrue(first.process.isRunning)
        first.kill9()
    }
}
