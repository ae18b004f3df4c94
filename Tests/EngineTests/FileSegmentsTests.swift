import XCTest
import Foundation
@testable import Engine

/// A file recorded by segments checks exactly as one digest of it would: every byte under a SHA-256, prefixes and
/// suffixes taken as recorded, the segments covering the file and nothing else.
final class FileSegmentsTests: XCTestCase {
    func testSegmentsCheckEveryByteAndTheWholeLength() throws {
        let dir = NSTemporaryDirectory() + "file-segments-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/f"
        let a = [UInt8](repeating: 7, count: 1000), b = (0..<5000).map { UInt8($0 % 251) }
        let prefix: [UInt8] = [1, 2, 3], suffix: [UInt8] = [9]
        try Data(a + b).write(to: URL(fileURLWithPath: path))
        let segments = [FileSegment(length: a.count, sha256: Digest.sha256Hex(a)),
                        FileSegment(length: b.count, prefix: Digest.hex(prefix), suffix: Digest.hex(suffix), sha256: Digest.sha256Hex(prefix + b + suffix))]
        XCTAssertTrue(FileSegments.verify(segments, path: path, size: 6000))

        XCTAssertFalse(FileSegments.verify(segments, path: path, size: 6001), "a size the segments do not cover")
        XCTAssertFalse(FileSegments.verify(Array(segments.prefix(1)), path: path, size: 1000), "a file longer than its segments")
        var noSuffix = segments; noSuffix[1].suffix = ""
        XCTAssertFalse(FileSegments.verify(noSuffix, path: path, size: 6000), "the suffix is part of the digest")
        var badHex = segments; badHex[1].prefix = "0102G3"
        XCTAssertFalse(FileSegments.verify(badHex, path: path, size: 6000), "a prefix that is not hex")
        var forged = segments; forged[0].length = Int.max; forged[1].length = Int.max
        XCTAssertFalse(FileSegments.verify(forged, path: path, size: 6000), "lengths whose sum overflows")
        var moved = segments; moved[0].length = 999; moved[1].length = 5001
        XCTAssertFalse(FileSegments.verify(moved, path: path, size: 6000), "a boundary moved by one byte")
        for offset in [0, 999, 1000, 5999] {
            var bytes = a + b
            bytes[offset] ^= 0x10
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertFalse(FileSegments.verify(segments, path: path, size: 6000), "byte \(offset) changed")
        }
        XCTAssertFalse(FileSegments.verify(segments, path: dir + "/missing", size: 6000))

        XCTAssertNotEqual(FileSegments.listDigest(segments), FileSegments.listDigest(noSuffix))
        XCTAssertEqual(FileSegments.listDigest(segments), FileSegments.listDigest(segments))
    }
}
