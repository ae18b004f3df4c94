import Foundation
import XCTest
@testable import Engine
@testable import Coordinator

final class JournalTests: XCTestCase {
    func testTornTailIsIgnoredOnReadAndCutAwayOnReopen() throws {
        let path = Cluster.temporaryFolder("journal")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let records: [JournalRecord] = [
            .plan(sourceFingerprint: "abc", profileHash: "def", layers: nil, tasks: 3),
            .lease(task: "A0", attempt: 1, worker: "w"),
            .done(task: "A0", attempt: 1, worker: "w", outcome: TaskOutcome(taskId: "A0", outputs: [], seconds: 0.5)),
        ]
        do {
            let j = try Journal(path: path)
            for r in records { try j.append(r) }
        }
        let intact = try Journal.read(path: path)
        XCTAssertEqual(intact.records, records)
        // A crash in the middle of the next append: a length and part of a payload.
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile(); h.write(Data([200, 0, 0, 0, 1, 2, 3, 4, 5])); h.closeFile()
        // A flipped byte inside a record is caught by its CRC.
        var flipped = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let torn = try Journal.read(path: path)
        XCTAssertEqual(torn.records, records)
        XCTAssertEqual(torn.fileBytes - torn.intactBytes, 9)
        XCTAssertEqual(JobStatus.summarise(torn).tornTailBytes, 9)

        try Journal(path: path).append(.final)
        XCTAssertEqual(try Journal.read(path: path).records, records + [.final])

        flipped[intact.intactBytes - 3] ^= 0xFF
        try Data(flipped).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try Journal.read(path: path).records, Array(records.prefix(2)))
    }
}
