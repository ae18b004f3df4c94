import XCTest
import Foundation
@testable import Engine
@testable import Pipeline

/// The fp32 BERT: levels from the BERT role table, an I64 buffer passed through, and bounded errors per level.
final class MiniLMTests: XCTestCase {
    func testMiniLMCompressesWithBertLevels() throws {
        let pkg = TestModels.temporaryFolder("minilm")
        defer { try? FileManager.default.removeItem(atPath: pkg) }
        let s = try TestModels.compress(TestModels.miniLM, profile: TestModels.profile("uqcit"), workers: 2, out: pkg)
        let reports = try PackageJSON.decode([TensorReport].self, from: Array(FileManager.default.contents(atPath: pkg + "/validation/tensors.json")!))
        func level(_ n: String) -> Int? { reports.first { $0.name == n }?.level }
        XCTAssertEqual(level("encoder.layer.0.attention.self.query.weight"), 2)
        XCTAssertEqual(level("encoder.layer.0.attention.output.dense.weight"), 3)
        XCTAssertEqual(level("encoder.layer.0.intermediate.dense.weight"), 4)
        XCTAssertEqual(level("encoder.layer.0.output.dense.weight"), 5)
        XCTAssertEqual(level("embeddings.word_embeddings.weight"), 1)
        XCTAssertEqual(reports.first { $0.name == "embeddings.position_ids" }?.pattern, nil)
        for (k, l) in s.metadata.measured.levels where k != "0" {
            XCTAssertNotNil(l.meanSQNRdB, "level \(k)")
            XCTAssertGreaterThan(l.meanSQNRdB!, 8, "level \(k)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: pkg + "/tokenizer/vocab.txt"))
    }
}
