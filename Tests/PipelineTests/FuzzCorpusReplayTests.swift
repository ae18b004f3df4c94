import XCTest
import FuzzEntryPoints
import TestSupport

/// The committed fuzz corpus (Tests/FuzzCorpus, seeds and crash reproducers) through the coordinator's
/// targets, without sanitizers: each envelope pair and journal must be refused or read, never trap.
final class CoordinatorFuzzCorpusReplayTests: XCTestCase {
    private func replay(_ target: FuzzTarget) throws {
        let ran = try target.replay(folder: TestPaths.repoRoot + "/Tests/FuzzCorpus/" + target.rawValue)
        XCTAssertGreaterThan(ran, 0, "no corpus for \(target.rawValue)")
    }

    func testEnvelopeCorpus() throws { try replay(.envelope) }
    func testJournalCorpus() throws { try replay(.journal) }
}
