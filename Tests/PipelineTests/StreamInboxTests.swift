import XCTest
import Foundation
@testable import Pipeline
import UQCITProtocol

/// The receiving end of stream mode on its own: how many files one peer may have half-sent, how large each may
/// grow, and that a refused or abandoned file leaves nothing behind.
final class StreamInboxTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = TestModels.temporaryFolder("stream-inbox")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    private func chunk(_ name: String, task: String = "Q1", offset: Int = 0, bytes: Int = 8, last: Bool = false) -> Uqcit_V2_Chunk {
        var c = Uqcit_V2_Chunk()
        c.taskID = task; c.attempt = 1; c.fileName = name; c.offset = UInt64(offset); c.data = Data(repeating: 7, count: bytes); c.last = last
        return c
    }

    private func files() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: root).sorted() }

    private func refusal(_ receive: () throws -> Void) -> String? {
        do { try receive(); return nil } catch { return "\(error)" }
    }

    func testNoMoreThanMaxOpenFilesArriveAtOnce() throws {
        var inbox = StreamInbox(root: root, maxOpenFiles: 2)
        try inbox.receive(chunk("a.bin", task: "Q1"), maxBytes: 100)
        try inbox.receive(chunk("b.bin", task: "Q2"), maxBytes: 100)
        let reason = refusal { try inbox.receive(chunk("c.bin", task: "Q3"), maxBytes: 100) }
        XCTAssertEqual(reason, "chunk opens c.bin while 2 file(s) are still arriving, the most this peer may send at once")
        XCTAssertEqual(try files().count, 2, "only the two temp files")

        try inbox.receive(chunk("a.bin", task: "Q1", offset: 8, last: true), maxBytes: 100)
        try inbox.receive(chunk("c.bin", task: "Q3", last: true), maxBytes: 100)
        XCTAssertTrue(try files().contains("a.bin"))
        XCTAssertTrue(try files().contains("c.bin"))
        inbox.discard(task: "Q2")
        XCTAssertEqual(try files(), ["a.bin", "c.bin"], "an abandoned file leaves no temp file")
    }

    func testAFileStopsAtItsByteBound() throws {
        var inbox = StreamInbox(root: root, maxOpenFiles: 1)
        try inbox.receive(chunk("t.bin", bytes: 60), maxBytes: 100)
        let reason = refusal { try inbox.receive(chunk("t.bin", offset: 60, bytes: 41, last: true), maxBytes: 100) }
        XCTAssertEqual(reason, "chunk of t.bin at offset 60 would take it past the 100 bytes task Q1 may write; the partial file is removed")
        XCTAssertEqual(try files(), [])
        XCTAssertNotNil(refusal { try inbox.receive(chunk("t.bin", offset: 60, bytes: 40, last: true), maxBytes: 100) },
                        "the rest of a refused file is out of order")

        try inbox.receive(chunk("t.bin", bytes: 60), maxBytes: 100)
        try inbox.receive(chunk("t.bin", offset: 60, bytes: 40, last: true), maxBytes: 100)
        XCTAssertEqual(try files(), ["t.bin"])
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: root + "/t.bin")[.size] as? Int, 100)
        inbox.discardAll()
        XCTAssertEqual(try files(), ["t.bin"], "a finished file is not the inbox's any more")
    }
}
