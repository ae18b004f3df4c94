import Foundation
import XCTest
import Engine
import TestSupport

/// Paths and fixtures shared by the GGUF tests (made by scripts/gguf_source_fixture.py with llama.cpp's gguf package).
enum GGUFTestData {
    static var smolLM2: String { TestPaths.sharedModels + "/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var fixtures: String { TestPaths.repoRoot + "/Tests/EngineTests/Fixtures/gguf" }

    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + name)))
    }

    static func floats(_ name: String) throws -> [Float] {
        let d = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + name))
        return d.withUnsafeBytes { p in (0..<d.count / 4).map { Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) } }
    }

    struct RowFixture { let gguf: String, hf: String, start: Int, count: Int, columns: Int, values: [Float] }

    static func rowFixtures() throws -> [RowFixture] {
        try (json("smollm2_rows.json") as! [[String: Any]]).map {
            RowFixture(gguf: $0["gguf"] as! String, hf: $0["hf"] as! String, start: $0["start"] as! Int, count: $0["count"] as! Int,
                       columns: $0["columns"] as! Int, values: try floats($0["file"] as! String))
        }
    }

    static func requireModel(_ path: String) throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: path), "\(path) is not present")
    }
}
