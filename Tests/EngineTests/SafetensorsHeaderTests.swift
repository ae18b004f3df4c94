import XCTest
@testable import Engine

/// Every malformed-header case the reference safetensors reader rejects is rejected here, with the file
/// and (where there is one) the tensor named.
final class SafetensorsHeaderTests: XCTestCase {
    func file(_ header: String, data: Int = 0, lengthOverride: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        let n = lengthOverride ?? UInt64(h.count)
        return (0..<8).map { UInt8((n >> (8 * UInt64($0))) & 0xFF) } + h + [UInt8](repeating: 7, count: data)
    }

    func parse(_ bytes: [UInt8]) throws -> SafetensorsHeader {
        try SafetensorsHeader.parse(prefix: bytes, fileSize: bytes.count, file: "m.safetensors")
    }

    func assertRejects(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(bytes), file: file, line: line) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("m.safetensors"), "error should name the file: \(text)", file: file, line: line)
            XCTAssertTrue(text.contains(fragment), "expected '\(fragment)' in: \(text)", file: file, line: line)
        }
    }

    func testValidHeaderParses() throws {
        let h = try parse(file(#"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#, data: 12))
        XCTAssertEqual(h.tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(h.metadata, ["format": "pt"])
        XCTAssertEqual(h.tensors[1].shape, [2])
    }

    func testShorterThanLengthPrefix() { assertRejects([1, 2, 3], "shorter than the 8-byte") }
    func testHeaderLengthOverLimit() { assertRejects(file("{}", lengthOverride: 200_000_000), "exceeds") }
    func testHeaderLengthPastEnd() { assertRejects(file("{}", lengthOverride: 50), "past the end") }
    func testHeaderNotObjectStart() { assertRejects(file(#"["a"]"#), "does not start with '{'") }
    func testInvalidJSON() { assertRejects(file(#"{"a":{"dtype":"F32",}}"#), "invalid JSON") }
    func testDuplicateNames() {
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "duplicate key \"a\"")
    }
    func testUnknownDType() { assertRejects(file(#"{"w":{"dtype":"F12","shape":[1],"data_offsets":[0,2]}}"#, data: 2), "unknown dtype 'F12'") }
    func testShapeNotIntegers() { assertRejects(file(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: 4), "non-negative integers") }
    func testNegativeShape() { assertRejects(file(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4), "tensor 'w'") }
    func testByteLengthMismatch() { assertRejects(file(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8), "needs 12 bytes but data_offsets span 8") }
    func testBeginAfterEnd() { assertRejects(file(#"{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#, data: 4), "after end") }
    func testOverlappingOffsets() {
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "overlaps")
    }
    func testGapBetweenTensors() {
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: 12), "gap")
    }
    func testOffsetsNotCoveringBuffer() { assertRejects(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 9), "cover 4 bytes but the data buffer holds 9") }
    func testOffsetsPastBuffer() { assertRejects(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 4), "data buffer holds 4") }
    func testMetadataValueNotString() { assertRejects(file(#"{"__metadata__":{"k":1}}"#), "not a string") }
    func testEntryNotObject() { assertRejects(file(#"{"w":[1,2]}"#), "entry is not an object") }
    func testMissingOffsets() { assertRejects(file(#"{"w":{"dtype":"F32","shape":[1]}}"#, data: 4), "data_offsets") }
    func testElementCountOverflow() {
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: 4), "overflows")
    }

    func testWriterOutputRoundtrips() throws {
        let arrays = [NamedArray(name: "x#lo.codes", dtype: .u8, shape: [2, 3], bytes: [1, 2, 3, 4, 5, 6]),
                      NamedArray(name: "y", int32: [7, -8], shape: [2])]
        let bytes = SafetensorsWriter.encode(arrays, metadata: ["k": "v \"quoted\""])
        let h = try parse(bytes)
        XCTAssertEqual(h.dataStart % 8, 0, "data starts 8-byte aligned")
        XCTAssertEqual(h.tensors.map(\.name), ["x#lo.codes", "y"])
        XCTAssertEqual(h.metadata["k"], "v \"quoted\"")
        XCTAssertEqual(Array(bytes[(h.dataStart + 6)...]), arrays[1].bytes)
        XCTAssertEqual(arrays[1].int32Values, [7, -8])
    }

    func testStrictJSONParser() throws {
        XCTAssertEqual(try JSONValue.parse(Array(#"{"a":[1,-2.5e3,"\u00e9\n",true,null]}"#.utf8))["a"],
                       .array([.number(1), .number(-2500), .string("é\n"), .bool(true), .null]))
        XCTAssertThrowsError(try JSONValue.parse(Array("{\"a\":1} x".utf8)))
        XCTAssertThrowsError(try JSONValue.parse(Array(String(repeating: "[", count: 100).utf8)))
    }
}
