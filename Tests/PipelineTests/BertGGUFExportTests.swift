import Foundation
import XCTest
import TestSupport
@testable import Engine
@testable import Pipeline

/// GGUF export of a BERT (all-MiniLM-L6-v2) as llama.cpp's "bert" architecture: with llama.cpp's reference codes
/// the file holds llama-quantize's own bytes, tensor for tensor, for a file llama.cpp's converter made from the
/// same checkpoint (fixture from scripts/llama_quantize_minilm_digests.py); its metadata carries what llama.cpp's
/// loader checks (segment count, pooling), and the pooler is left out as the converter leaves it out.
final class BertGGUFExportTests: XCTestCase {
    struct Fixture: Decodable { var mixes: [String: [String: GGUFExportTests.Fixture.Tensor]] }

    func testReferenceCodesAreLlamaQuantizesBytesForABert() throws {
        let path = TestPaths.repoRoot + "/Tests/PipelineTests/Fixtures/llama-quantize-minilm.json"
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(fixture.mixes.count, 3)
        for (mix, expected) in fixture.mixes.sorted(by: { $0.key < $1.key }) {
            let dir = TestModels.temporaryFolder("bert-gguf-\(mix)")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var profile = try TestModels.profile("gguf-" + mix.lowercased())
            profile.ggmlCodes = .reference
            _ = try TestModels.compress(TestModels.miniLM, profile: profile, workers: 2, out: dir + "/pkg")
            _ = try GGUFExporter.export(try PackageReader(path: dir + "/pkg"), to: dir + "/model.gguf")
            let file = try GGUFFile(path: dir + "/model.gguf")
            XCTAssertEqual(Set(file.tensors.map(\.name)), Set(expected.keys), mix)
            for t in file.tensors {
                XCTAssertEqual(t.type.rawValue, expected[t.name]?.type, "\(mix) \(t.name)")
                XCTAssertEqual(Digest.sha256Hex(try file.rawRows(t, start: 0, count: t.rows)), expected[t.name]?.sha256, "\(mix) \(t.name) \(t.type)")
            }
            let metadata = Dictionary(file.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            XCTAssertEqual(metadata["general.architecture"], .string("bert"))
            XCTAssertEqual(metadata["tokenizer.ggml.model"], .string("bert"))
            XCTAssertEqual(metadata["tokenizer.ggml.token_type_count"], .uint32(2), "token_types.weight has two rows")
            XCTAssertEqual(metadata["bert.pooling_type"], .uint32(1), "sentence-transformers' mean pooling")
            XCTAssertEqual(metadata["bert.attention.causal"], .bool(false))
        }
    }
}
