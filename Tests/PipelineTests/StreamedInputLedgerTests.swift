import XCTest
@testable import Coordinator

/// Stream mode's bookkeeping of a worker's inputs: a file goes down once while tasks on the worker read it, is
/// released when the last of them ends, and a release not yet sent is taken back by a task that reads the file.
final class StreamedInputLedgerTests: XCTestCase {
    let h0 = "calibration/layer_0/h_attn_in_0.st", h1 = "calibration/layer_0/h_attn_in_1.st"

    func testAFileIsSentOnceWhileReadAndReleasedAfterItsLastReader() {
        var ledger = StreamedInputLedger()
        XCTAssertEqual(ledger.lease("Q3.0", reads: [h0, h1]), [h0, h1])
        XCTAssertEqual(ledger.lease("Q3.1", reads: [h0, h1]), [], "the worker holds both")
        ledger.end("Q3.0")
        XCTAssertEqual(ledger.takeReleases(), [], "Q3.1 still reads them")
        ledger.end("Q3.1")
        XCTAssertEqual(ledger.takeReleases(), [h0, h1])
        XCTAssertEqual(ledger.takeReleases(), [], "each release is sent once")
        XCTAssertEqual(ledger.lease("Q4.0", reads: [h0]), [h0], "released and removed: sent again")
        ledger.end("Q4.0")
        ledger.end("Q4.0")
        XCTAssertEqual(ledger.takeReleases(), [h0], "an ended lease counted once")
    }

    func testAReleaseNotYetSentIsTakenBack() {
        var ledger = StreamedInputLedger()
        _ = ledger.lease("Q3.0", reads: [h0, h1])
        ledger.end("Q3.0")
        XCTAssertEqual(ledger.lease("Q3.1", reads: [h0]), [], "the worker was never told to remove it")
        XCTAssertEqual(ledger.takeReleases(), [h1], "and it is not released under Q3.1")
        XCTAssertEqual(ledger.lease("A7", reads: []), [])
        ledger.end("Q3.1")
        XCTAssertEqual(ledger.takeReleases(), [h0])
    }
}
