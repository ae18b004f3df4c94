import XCTest
import Foundation
@testable import Engine

/// Checkpoint folders: sharded indexes, hostile names and paths, NaN weights.
final class CheckpointFolderTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "uqcit-ckpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(#"{"model_type":"llama","vocab_size":8}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, _ arrays: [NamedArray]) throws {
        try Data(SafetensorsWriter.encode(arrays)).write(to: URL(fileURLWithPath: dir + "/" + name))
    }
    func floats(_ name: String, _ v: [Float], shape: [Int]) -> NamedArray {
        var b: [UInt8] = []
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { b += $0 } }
        return NamedArray(name: name, dtype: .f32, shape: shape, bytes: b)
    }
    func index(_ map: [String: String]) throws {
        let json = try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map])
        try json.write(to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
    }

    func testShardedIndexOpens() throws {
        try write("a.safetensors", [floats("x.weight", [1, 2], shape: [1, 2])])
        try write("b.safetensors", [floats("y.weight", [3, 4], shape: [2, 1])])
        try index(["x.weight": "a.safetensors", "y.weight": "b.safetensors"])
        let c = try Checkpoint(folder: dir)
        XCTAssertEqual(c.tensors.map(\.name), ["x.weight", "y.weight"])
        XCTAssertEqual(try c.readRows(c.tensors[1], start: 1, count: 1), [4])
    }

    func testIndexPathEscapingFolderRejected() throws {
        try write("a.safetensors", [floats("x.weight", [1], shape: [1])])
        for bad in ["../a.safetensors", "/etc/passwd", "sub/../../a.safetensors"] {
            try index(["x.weight": bad])
            XCTAssertThrowsError(try Checkpoint(folder: dir)) { XCTAssertTrue("\($0)".contains("leaves the folder"), "\($0)") }
        }
    }

    func testIndexedTensorMissingFromShard() throws {
        try write("a.safetensors", [floats("x.weight", [1], shape: [1])])
        try index(["x.weight": "a.safetensors", "z.weight": "a.safetensors"])
        XCTAssertThrowsError(try Checkpoint(folder: dir)) { XCTAssertTrue("\($0)".contains("'z.weight' is indexed in a.safetensors but that shard does not hold it"), "\($0)") }
    }

    func testHostileTensorNameRejected() throws {
        for bad in ["../../etc/passwd", "a/b", ".hidden", "x\u{0}y"] {
            try write("model.safetensors", [floats(bad, [1], shape: [1])])
            XCTAssertThrowsError(try Checkpoint(folder: dir)) { e in
                XCTAssertTrue("\(e)".contains("is not allowed"), "\(e)")
            }
        }
    }

    func testNaNInWeightNamesTensorRowAndColumn() throws {
        try write("model.safetensors", [floats("w.weight", [1, 2, 3, .nan], shape: [2, 2])])
        let c = try Checkpoint(folder: dir)
        XCTAssertThrowsError(try c.readRows(c.tensors[0], start: 0, count: 2)) { e in
            XCTAssertEqual("\(e)", dir + "/model.safetensors: tensor 'w.weight': NaN or Inf at row 1, column 1")
        }
    }

    /// BF16 rows are widened and checked in one pass (KernelsAVX2 where the CPU has it): an infinity or NaN past
    /// the first vectors and in the tail is still found at its row and column, and finite rows read exactly.
    func testNonFiniteBF16NamesTensorRowAndColumn() throws {
        let values: [Float] = (0..<60).map { Float($0) - 30.5 }          // exact in bf16; 3 rows of 20
        func bf16(_ v: [Float]) -> NamedArray {
            var b: [UInt8] = []
            for x in v { withUnsafeBytes(of: UInt16(x.bitPattern >> 16).littleEndian) { b += $0 } }
            return NamedArray(name: "w.weight", dtype: .bf16, shape: [3, 20], bytes: b)
        }
        try write("model.safetensors", [bf16(values)])
        XCTAssertEqual(try Checkpoint(folder: dir).readRows(Checkpoint(folder: dir).tensors[0], start: 0, count: 3), values)
        for (index, bad) in [(33, Float.infinity), (59, -Float.nan), (17, -Float.infinity)] {
            var v = values
            v[index] = bad
            try write("model.safetensors", [bf16(v)])
            let c = try Checkpoint(folder: dir)
            XCTAssertThrowsError(try c.readRows(c.tensors[0], start: 0, count: 3)) { e in
                XCTAssertEqual("\(e)", dir + "/model.safetensors: tensor 'w.weight': NaN or Inf at row \(index / 20), column \(index % 20)")
            }
        }
    }

    func testMissingFolderAndConfig() throws {
        XCTAssertThrowsError(try Checkpoint(folder: dir + "/nope")) { XCTAssertTrue("\($0)".contains("no such model folder")) }
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        XCTAssertThrowsError(try Checkpoint(folder: dir)) { XCTAssertTrue("\($0)".contains("config.json: file not found")) }
    }
}
