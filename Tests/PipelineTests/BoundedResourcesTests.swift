import XCTest
import Foundation
@testable import Engine
@testable import Coordinator
@testable import Pipeline

/// Leases with deadlines, heartbeat settings that cannot overflow, peer text that cannot forge log lines,
/// and complaints about one peer that cannot flood the log: all without sockets.
final class BoundedResourcesTests: XCTestCase {
    func testLeaseDeadlinesScaleWithTheTaskAndExpireOnlyPastThem() throws {
        let d = LeaseDeadlines(minimumSeconds: 10, secondsPerMParam: 2)
        let big = CheckpointTensor(shard: "m", entry: TensorEntry(name: "w", dtype: .bf16, shape: [4000, 1000], begin: 0, end: 8_000_000))
        let small = CheckpointTensor(shard: "m", entry: TensorEntry(name: "v", dtype: .bf16, shape: [10, 10], begin: 0, end: 200))
        let policy = LevelPolicy(pattern: "x", high: .fp16, low: .int4, highFraction: 0.1, compensationRank: 0)
        func measure(_ t: CheckpointTensor) -> TaskSpec { .measureTask(0, MeasureSpec(tensor: t, candidates: [policy], rotation: false, sampleRows: 4)) }
        XCTAssertEqual(d.seconds(for: measure(big)), 10, "4 Mparam x 2 s is below the floor")
        XCTAssertEqual(LeaseDeadlines(minimumSeconds: 1, secondsPerMParam: 2).seconds(for: measure(big)), 8)
        XCTAssertEqual(d.seconds(for: measure(small)), 10)
        XCTAssertThrowsError(try LeaseDeadlines(minimumSeconds: 0, secondsPerMParam: 1).validated())
        XCTAssertThrowsError(try LeaseDeadlines(minimumSeconds: 1, secondsPerMParam: .nan).validated())

        var table = LeaseTable()
        let t0 = Date()
        table.grant("A0", to: [1], attempt: 1, deadline: t0.addingTimeInterval(5))
        table.grant("A1", to: [2], attempt: 1, deadline: t0.addingTimeInterval(50))
        XCTAssertFalse(table.holds("A0", worker: [2], attempt: 1), "another worker's lease")
        XCTAssertEqual(table.finish("A0", worker: [1], attempt: 2), .notHeld, "another attempt")
        XCTAssertTrue(table.expire(at: t0.addingTimeInterval(4)).isEmpty)
        XCTAssertEqual(table.expire(at: t0.addingTimeInterval(5)).map(\.task), ["A0"])
        XCTAssertEqual(table.finish("A0", worker: [1], attempt: 1), .notHeld, "a late result finds no lease")
        XCTAssertEqual(table.finish("A1", worker: [2], attempt: 1), .held(others: []))
    }

    func testHeartbeatSettingsOutsideTheirRangeAreRefused() {
        XCTAssertNoThrow(try HeartbeatSettings().validated())
        for (ms, liveness) in [(0, 3), (-1, 3), (Int(UInt32.max) + 1, 3), (4_000_000_000, 3), (1000, 0), (1000, Int.max)] {
            XCTAssertThrowsError(try HeartbeatSettings(intervalMs: ms, liveness: liveness).validated(), "\(ms) ms, liveness \(liveness)")
        }
        XCTAssertThrowsError(try ClusterOptions(heartbeat: HeartbeatSettings(intervalMs: -5)).checkBindPolicy())
    }

    func testPeerTextIsEscapedAndCapped() {
        XCTAssertEqual(LogText.escaped("w1\n[uqcit] forged\r\u{1B}[31m"), "w1\\u{a}[uqcit] forged\\u{d}\\u{1b}[31m")
        XCTAssertEqual(LogText.escaped("a\u{2028}b\\"), "a\\u{2028}b\\\\")
        XCTAssertEqual(LogText.escaped("naïve-worker-7"), "naïve-worker-7")
        let long = LogText.escaped(String(repeating: "x", count: 10_000))
        XCTAssertTrue(long.hasPrefix(String(repeating: "x", count: LogText.maxCharacters)))
        XCTAssertTrue(long.hasSuffix("...(9800 more)"))
    }

    func testComplaintsAboutOnePeerAreRateLimited() {
        var limiter = ComplaintLimiter(burst: 2, window: 10)
        let t0 = Date(), peer: [UInt8] = [7], other: [UInt8] = [8]
        XCTAssertEqual(limiter.admit("a", about: peer, at: t0), "a")
        XCTAssertEqual(limiter.admit("b", about: peer, at: t0), "b")
        XCTAssertNil(limiter.admit("c", about: peer, at: t0.addingTimeInterval(1)))
        XCTAssertNil(limiter.admit("d", about: peer, at: t0.addingTimeInterval(2)))
        XCTAssertEqual(limiter.admit("x", about: other, at: t0.addingTimeInterval(2)), "x", "other peers are not held back")
        XCTAssertEqual(limiter.admit("e", about: peer, at: t0.addingTimeInterval(10)), "e (2 similar line(s) about this peer suppressed)")
        XCTAssertEqual(limiter.admit("f", about: peer, at: t0.addingTimeInterval(10)), "f")
    }
}
