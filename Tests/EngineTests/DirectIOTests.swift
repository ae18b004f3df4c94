import XCTest
import Foundation
@testable import Engine

/// Staged tiles are written and read past the page cache, from aligned memory or through an aligned buffer: the
/// bytes on disk and the bytes read back must be exactly those given, whatever the file's size against the 4 KiB
/// blocks and the 1 MiB buffer, and however the writes are split.
final class DirectIOTests: XCTestCase {
    func testUncachedWritesAndReadsGiveBackEveryByte() throws {
        var folders = [NSTemporaryDirectory() + "direct-io-\(UUID().uuidString)"]
        // tmpfs takes or refuses O_DIRECT depending on the kernel; either way the bytes must round-trip.
        if FileManager.default.fileExists(atPath: "/dev/shm") { folders.append("/dev/shm/direct-io-\(UUID().uuidString)") }
        for dir in folders {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            for size in [0, 1, 4095, 4096, 4097, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 12345] {
                let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
                let path = dir + "/tile-\(size)"
                let w = try AtomicFileWriter(path: path, uncached: true)
                // Pieces that straddle the blocks and the buffer: 1, 4095, 70000, 1, ... bytes.
                var at = 0, k = 0
                let pieces = [1, 4095, 70000, 1, 1 << 20]
                while at < size {
                    let n = min(pieces[k % pieces.count], size - at)
                    try bytes.withUnsafeBytes { try w.write(UnsafeRawBufferPointer(rebasing: $0[at..<at + n])) }
                    at += n; k += 1
                }
                let digest = try w.commit()
                XCTAssertEqual(digest, Digest.sha256Hex(bytes), "\(dir), \(size) bytes")
                XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), bytes, "\(dir), \(size) bytes on disk")

                // From aligned memory (a worker's tile): whole blocks leave from where they are, after a buffered
                // piece they are copied, and a second file written both ways must match.
                let aligned = AlignedBytes(copying: bytes)
                let fromAligned = dir + "/aligned-\(size)"
                XCTAssertEqual(try aligned.withUnsafeBytes { try AtomicFileWriter.write($0, to: fromAligned, uncached: true) }, Digest.sha256Hex(bytes))
                XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: fromAligned))), bytes, "\(dir), \(size) bytes from aligned memory")
                let split = dir + "/split-\(size)"
                let s = try AtomicFileWriter(path: split, uncached: true)
                try aligned.withUnsafeBytes { b in
                    let cut = min(size, 8192 + 7)
                    try s.write(UnsafeRawBufferPointer(rebasing: b[..<cut]))
                    try s.write(UnsafeRawBufferPointer(rebasing: b[cut...]))
                }
                XCTAssertEqual(try s.commit(), Digest.sha256Hex(bytes))
                XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: split))), bytes, "\(dir), \(size) bytes in two writes")

                let f = try UncachedFile(path: path)
                XCTAssertEqual(f.size, size)
                let read = try f.readWhole()
                XCTAssertEqual(read.withUnsafeBytes { Array($0) }, bytes, "\(dir), \(size) bytes read back")
            }
        }
    }

    func testAWholeReadRefusesAFileThatChangedSize() throws {
        let dir = NSTemporaryDirectory() + "direct-io-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tile"
        try AtomicFileWriter.write([UInt8](repeating: 5, count: 10000), to: path, uncached: true)
        let f = try UncachedFile(path: path)
        XCTAssertEqual(truncate(path, 6000), 0)
        XCTAssertThrowsError(try f.readWhole()) { XCTAssertTrue("\($0)".contains("changed size"), "\($0)") }
        XCTAssertThrowsError(try UncachedFile(path: dir + "/absent"))
    }
}
