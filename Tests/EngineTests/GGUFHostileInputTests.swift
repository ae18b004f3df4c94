import XCTest
import Engine
import TestSupport

/// Hostile and broken GGUF files: every one is a thrown error that names the file, never a trap or a huge
/// allocation.
final class GGUFHostileInputTests: XCTestCase {
    /// Builds a GGUF header field by field, little-endian.
    struct Bytes {
        var b: [UInt8] = []
        mutating func u32(_ v: UInt32) { b += withUnsafeBytes(of: v.littleEndian, Array.init) }
        mutating func u64(_ v: UInt64) { b += withUnsafeBytes(of: v.littleEndian, Array.init) }
        mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); b += s.utf8 }
        mutating func header(tensors: UInt64, kvs: UInt64, version: UInt32 = 3) { b += Array("GGUF".utf8); u32(version); u64(tensors); u64(kvs) }
        mutating func tensor(_ name: String, _ dims: [UInt64], type: UInt32 = 0, offset: UInt64) {
            str(name); u32(UInt32(dims.count)); for d in dims { u64(d) }; u32(type); u64(offset)
        }
        mutating func pad(to a: Int = 32) { while b.count % a != 0 { b.append(0) } }
    }

    var folder = ""

    override func setUpWithError() throws {
        folder = TestPaths.temporaryFolder("gguf-hostile")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// Writes `bytes`, opens them, and checks the error names the file and contains `expected` (when given).
    func assertRefused(_ bytes: [UInt8], _ expected: String?, file: StaticString = #filePath, line: UInt = #line) {
        let path = folder + "/\(UUID().uuidString).gguf"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        XCTAssertThrowsError(try GGUFFile(path: path), file: file, line: line) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains(path), "error does not name the file: \(text)", file: file, line: line)
            if let expected { XCTAssertTrue(text.contains(expected), "expected '\(expected)' in: \(text)", file: file, line: line) }
        }
    }

    /// A valid file with one 4-float tensor "t", for cutting and patching.
    func validFile() -> [UInt8] {
        var h = Bytes()
        h.header(tensors: 1, kvs: 1)
        h.str("general.name"); h.u32(8); h.str("x")
        h.tensor("t", [4], offset: 0)
        h.pad()
        h.b += [UInt8](repeating: 0, count: 16)
        h.pad()
        return h.b
    }

    func testValidFileOpens() throws {
        let path = folder + "/ok.gguf"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(validFile())))
        let f = try GGUFFile(path: path)
        XCTAssertEqual(try f.readRows(f.tensors[0], start: 0, count: 1), [0, 0, 0, 0])
    }

    func testBadMagicAndVersion() {
        var b = validFile(); b[0] = UInt8(ascii: "X")
        assertRefused(b, "magic")
        var v = validFile(); v[4] = 1
        assertRefused(v, "version 1")
        assertRefused([], "magic")
    }

    func testEveryTruncationIsAnError() {
        let b = validFile()
        // Cut inside the header (the data is read lazily, so a cut there surfaces as "run past the end").
        // The last 16 bytes are padding after the tensor: cuts there leave a valid file.
        for n in stride(from: 1, to: b.count - 16, by: 3) { assertRefused(Array(b[0..<n]), nil) }
    }

    func testHugeCounts() {
        var h = Bytes(); h.header(tensors: UInt64.max, kvs: 0); assertRefused(h.b, "tensor count")
        h = Bytes(); h.header(tensors: 1 << 40, kvs: 0); assertRefused(h.b, "tensors cannot fit")
        h = Bytes(); h.header(tensors: 0, kvs: 1 << 40); assertRefused(h.b, "metadata entries cannot fit")
        // An array claiming 2^40 elements in a tiny file.
        h = Bytes(); h.header(tensors: 0, kvs: 1); h.str("k"); h.u32(9); h.u32(4); h.u64(1 << 40)
        assertRefused(h.b, "cannot fit")
    }

    func testStringLengthOverflow() {
        var h = Bytes(); h.header(tensors: 0, kvs: 1); h.str("k"); h.u32(8); h.u64(UInt64.max - 3)
        assertRefused(h.b, "'k'")
        h = Bytes(); h.header(tensors: 0, kvs: 1); h.u64(1 << 62); h.b += [UInt8](repeating: 0, count: 16)
        assertRefused(h.b, "metadata entry 0")
    }

    func testBadValuesAndKeys() {
        var h = Bytes(); h.header(tensors: 0, kvs: 1); h.str("k"); h.u32(13); h.u32(0)
        assertRefused(h.b, "not a GGUF value type")
        h = Bytes(); h.header(tensors: 0, kvs: 2); h.str("k"); h.u32(4); h.u32(1); h.str("k"); h.u32(4); h.u32(2)
        assertRefused(h.b, "appears twice")
        h = Bytes(); h.header(tensors: 0, kvs: 1); h.str("k"); h.u32(8); h.u64(2); h.b += [0xC3, 0x28]
        assertRefused(h.b, "UTF-8")
        h = Bytes(); h.header(tensors: 0, kvs: 1); h.str("general.alignment"); h.u32(4); h.u32(24)
        assertRefused(h.b, "power of two")
        // Arrays nested deeper than the limit.
        h = Bytes(); h.header(tensors: 0, kvs: 1); h.str("k"); h.u32(9)
        for _ in 0..<20 { h.u32(9); h.u64(1) }
        assertRefused(h.b, "nested")
    }

    func testBadTensorInfos() {
        func file(_ tensors: [(String, [UInt64], UInt32, UInt64)], dataBytes: Int = 64) -> [UInt8] {
            var h = Bytes(); h.header(tensors: UInt64(tensors.count), kvs: 0)
            for t in tensors { h.tensor(t.0, t.1, type: t.2, offset: t.3) }
            h.pad(); h.b += [UInt8](repeating: 0, count: dataBytes)
            return h.b
        }
        assertRefused(file([("t", [4], 99, 0)]), "ggml type 99")
        assertRefused(file([("t", [1, 1, 1, 1, 1], 0, 0)]), "n_dims 5")
        assertRefused(file([("t", [4], 0, 0), ("t", [4], 0, 32)]), "appears twice")
        assertRefused(file([("t", [4], 0, 16)]), "not a multiple of the alignment")
        assertRefused(file([("t", [4], 0, 1 << 40)]), "outside")
        assertRefused(file([("t", [64], 0, 0)]), "run past the end")
        assertRefused(file([("t", [16], 0, 0), ("u", [16], 0, 32)], dataBytes: 128), "overlaps")
        assertRefused(file([("t", [UInt64(1) << 62, 1 << 62], 0, 0)]), "overflows")
        assertRefused(file([("t", [0, UInt64(1) << 62, 1 << 62], 0, 0)]), "overflows")
        assertRefused(file([("t", [30, 2], 8, 0)]), "not a multiple of Q8_0")
        assertRefused(file([("../t", [4], 0, 0)]), "not allowed")
        assertRefused(file([("t", [UInt64.max], 0, 0)]), "out of range")
    }

    func testNonFiniteRowsAreRefused() throws {
        var b = validFile()
        let nan = Float.nan.bitPattern
        let at = b.count - 32 + 8                      // third float of the tensor
        for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: nan >> (8 * UInt32(k))) }
        let path = folder + "/nan.gguf"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(b)))
        let f = try GGUFFile(path: path)
        XCTAssertThrowsError(try f.readRows(f.tensors[0], start: 0, count: 1)) { e in
            XCTAssertEqual(e as? GGUFError, .nonFinite(file: path, tensor: "t", row: 0, column: 2))
        }
    }
}
