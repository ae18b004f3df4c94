import XCTest
import Engine
import TestSupport

/// GGUFWriter: the same content llama.cpp's gguf.GGUFWriter wrote into writer_reference.gguf.bytes must come out byte for
/// byte, and what it writes must read back.
final class GGUFWriterTests: XCTestCase {
    /// The reference's metadata, in its order (gguf.GGUFWriter writes general.architecture first).
    static let metadata: [(key: String, value: GGUFValue)] = [
        ("general.architecture", .string("test")),
        ("test.u8", .uint8(200)), ("test.i8", .int8(-100)), ("test.u16", .uint16(60000)), ("test.i16", .int16(-30000)),
        ("test.u32", .uint32(4_000_000_000)), ("test.i32", .int32(-2_000_000_000)),
        ("test.u64", .uint64(1 << 63 + 5)), ("test.i64", .int64(-(1 << 62))),
        ("test.f32", .float32(1.5)), ("test.f64", .float64(-2.25)), ("test.bool", .bool(true)), ("test.str", .string("héllo")),
        ("test.arr_i32", .array(.int32, [.int32(1), .int32(-2), .int32(3)])),
        ("test.arr_str", .strings(["a", "bc", ""])),
        ("test.arr_bool", .array(.bool, [.bool(true), .bool(false)])),
        ("test.nested", .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.int32, [.int32(3)])])),
    ]

    static let tensors = [
        GGUFTensorInfo(name: "a.weight", dimensions: [5, 3], type: .f32),
        GGUFTensorInfo(name: "b.weight", dimensions: [4, 2], type: .f16),
        GGUFTensorInfo(name: "c.weight", dimensions: [32, 2], type: .q8_0),
        GGUFTensorInfo(name: "d.bias", dimensions: [7], type: .f32),
    ]

    static func f32Bytes(_ v: [Float]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    static func f16Bytes(_ v: [Float]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: HalfPrecision.floatToF16($0).littleEndian, Array.init) } }

    static let tensorBytes: [[UInt8]] = [
        f32Bytes((0..<15).map { Float($0) / 4 }),
        f16Bytes((0..<8).map { Float($0) - 3.5 }),
        (0..<68).map { UInt8($0 * 7 % 256) },          // Q8_0 blocks as opaque bytes
        f32Bytes([1, -1, 0.5, 2, 3, 4, 5]),
    ]

    func folder() throws -> String {
        let f = TestPaths.temporaryFolder("gguf-writer")
        try FileManager.default.createDirectory(atPath: f, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: f) }
        return f
    }

    func testBytesEqualGGUFPackageWriter() throws {
        let path = try folder() + "/out.gguf"
        let w = try GGUFWriter(path: path, metadata: Self.metadata, tensors: Self.tensors)
        for bytes in Self.tensorBytes {
            // In pieces of 5 bytes, as tiles would arrive.
            for lo in stride(from: 0, to: bytes.count, by: 5) { try w.write(Array(bytes[lo..<min(lo + 5, bytes.count)])) }
        }
        try w.finish()
        let reference = try Data(contentsOf: URL(fileURLWithPath: GGUFTestData.fixtures + "/writer_reference.gguf.bytes"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), reference)
    }

    func testReferenceReadsBack() throws {
        let f = try GGUFFile(path: GGUFTestData.fixtures + "/writer_reference.gguf.bytes")
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.alignment, 32)
        XCTAssertEqual(f.metadata.map(\.key), Self.metadata.map(\.key))
        for (a, b) in zip(f.metadata, Self.metadata) { XCTAssertEqual(a.value, b.value, a.key) }
        XCTAssertEqual(f.tensors.map(\.name), Self.tensors.map(\.name))
        XCTAssertEqual(f.tensors.map(\.offset), [0, 64, 96, 192])
        XCTAssertEqual(f.dataStart % 32, 0)
        for (t, bytes) in zip(f.tensors, Self.tensorBytes) {
            XCTAssertEqual(try f.rawRows(t, start: 0, count: t.rows), bytes, t.name)
        }
        XCTAssertEqual(try f.readRows(f.tensors[0], start: 1, count: 2), (5..<15).map { Float($0) / 4 })
        XCTAssertEqual(try f.readRows(f.tensors[1], start: 0, count: 2), (0..<8).map { Float($0) - 3.5 })
        XCTAssertEqual(try f.readRows(f.tensors[3], start: 0, count: 1), [1, -1, 0.5, 2, 3, 4, 5])
    }

    func testOtherAlignmentIsWrittenAndRead() throws {
        let path = try folder() + "/a64.gguf"
        let w = try GGUFWriter(path: path, metadata: [("general.architecture", .string("test"))], tensors: Self.tensors, alignment: 64)
        for bytes in Self.tensorBytes { try w.write(bytes) }
        try w.finish()
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(f["general.alignment"], .uint32(64))
        XCTAssertEqual(f.tensors.map(\.offset), [0, 64, 128, 256])
        XCTAssertEqual(f.dataStart % 64, 0)
        XCTAssertEqual(try f.rawRows(f.tensors[2], start: 0, count: 2), Self.tensorBytes[2])
    }

    func testEmptyArrayAndMetadataOnlyFile() throws {
        let path = try folder() + "/empty.gguf"
        let w = try GGUFWriter(path: path, metadata: [("tokenizer.ggml.merges", .strings([]))], tensors: [])
        try w.finish()
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f["tokenizer.ggml.merges"], .strings([]))
        XCTAssertTrue(f.tensors.isEmpty)
    }

    func testEachTensorMustReceiveExactlyItsBytes() throws {
        let dir = try folder()
        let path = dir + "/short.gguf"
        let w = try GGUFWriter(path: path, metadata: [], tensors: Self.tensors)
        try w.write(Self.tensorBytes[0])
        XCTAssertEqual(w.currentTensor?.name, "b.weight")
        XCTAssertThrowsError(try w.write([UInt8](repeating: 0, count: 17))) { e in XCTAssertTrue("\(e)".contains("b.weight"), "\(e)") }
        try w.write([UInt8](repeating: 0, count: 10))
        XCTAssertThrowsError(try w.finish()) { e in XCTAssertTrue("\(e)".contains("b.weight") && "\(e)".contains(path), "\(e)") }
        w.abandon()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "no file under the final name")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + AtomicFileWriter.temporarySuffix))
    }

    func testBadDescriptionsAreRefused() throws {
        let path = try folder() + "/bad.gguf"
        let cases: [[GGUFTensorInfo]] = [
            [GGUFTensorInfo(name: "x", dimensions: [30, 2], type: .q8_0)],            // not whole blocks
            [GGUFTensorInfo(name: "x", dimensions: [1, 1, 1, 1, 1], type: .f32)],     // 5 dimensions
            [GGUFTensorInfo(name: "x", dimensions: [4], type: .f32), GGUFTensorInfo(name: "x", dimensions: [4], type: .f32)],
            [GGUFTensorInfo(name: "../x", dimensions: [4], type: .f32)],
        ]
        for c in cases {
            XCTAssertThrowsError(try GGUFWriter(path: path, metadata: [], tensors: c)) { e in XCTAssertTrue("\(e)".contains(path), "\(e)") }
        }
        XCTAssertThrowsError(try GGUFWriter(path: path, metadata: [("k", .int8(1)), ("k", .int8(2))], tensors: []))
        XCTAssertThrowsError(try GGUFWriter(path: path, metadata: [("k", .array(.int8, [.uint8(1)]))], tensors: []))
        XCTAssertThrowsError(try GGUFWriter(path: path, metadata: [], tensors: [], alignment: 48))
    }
}
