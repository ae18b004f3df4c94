import Foundation
import XCTest
import TestSupport
@testable import Engine
@testable import Runtime

/// Paths to the real models beside the repository (../shared/models) and to this target's fixtures.
enum RuntimeTestPaths {
    static var tinyLlama: String { TestPaths.tinyLlama }
    static var miniLM: String { TestPaths.miniLM }
    static var fixtures: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures" }

    static func profile(_ name: String) throws -> Profile { try ProfileLoader.load(TestPaths.profilePath(name)) }
    static func temporaryFolder(_ tag: String) -> String { TestPaths.temporaryFolder("runtime-" + tag) }

    static func requireModel(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path + "/config.json") else {
            throw XCTSkip("model not found at \(path)")
        }
    }
}

/// Tests/RuntimeTests/Fixtures/minilm_reference.json, written by scripts/minilm_reference.py.
struct MiniLMFixture: Decodable {
    struct Case: Decodable { var text: String; var tokens: [String]; var ids: [Int] }
    struct Sentence: Decodable { var text: String; var ids: [Int]; var embedding: [Float] }
    struct Pooling: Decodable { var mode: String; var normalize: Bool }
    var pooling: Pooling
    var tokenizer_cases: [Case]
    var sentences: [Sentence]

    static func load() throws -> MiniLMFixture {
        let d = try Data(contentsOf: URL(fileURLWithPath: RuntimeTestPaths.fixtures + "/minilm_reference.json"))
        return try JSONDecoder().decode(MiniLMFixture.self, from: d)
    }
}
