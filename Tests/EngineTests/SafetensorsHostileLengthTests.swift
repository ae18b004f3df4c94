import XCTest
import Foundation
@testable import Engine

/// A header length whose top byte is >= 0x80 is a huge unsigned number, never a negative count: the file is
/// refused with its name before anything is allocated.
final class SafetensorsHostileLengthTests: XCTestCase {
    func testHeaderLengthWithTheTopBitSetIsRefusedNamingTheFile() throws {
        let path = NSTemporaryDirectory() + "hostile-length-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for top: UInt8 in [0x80, 0xFF] {
            var bytes: [UInt8] = [0x10, 0, 0, 0, 0, 0, 0, top]
            bytes += Array(#"{"__metadata__":{}}"#.utf8)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try SafetensorsFile(path: path)) { e in
                XCTAssertTrue("\(e)".contains(path), "\(e)")
                XCTAssertTrue("\(e)".contains("exceeds"), "\(e)")
            }
        }
    }

    func testReadsOutsideTheFileThrowInsteadOfAllocating() throws {
        let path = NSTemporaryDirectory() + "short-\(UUID().uuidString).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        let f = try PositionalFile(path: path)
        XCTAssertThrowsError(try f.read(offset: 0, count: -1))
        XCTAssertThrowsError(try f.read(offset: 2, count: Int.max))
        XCTAssertThrowsError(try f.read(offset: Int.max, count: 1))
        XCTAssertEqual(try f.read(offset: 1, count: 2), [2, 3])
    }
}
