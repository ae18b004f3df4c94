import Foundation
import XCTest
import TestSupport
@testable import Engine
@testable import Pipeline

/// GGUF profiles and `export --format gguf` on tiny-llama-bytes. With llama.cpp's reference codes the file holds
/// llama-quantize's own bytes, tensor for tensor (fixture from scripts/llama_quantize_digests.py, made with the
/// real llama-quantize); with ours it has the same types and bytes and less error.
final class GGUFExportTests: XCTestCase {
    struct Fixture: Decodable {
        struct Tensor: Decodable { var type: String; var sha256: String }
        var mixes: [String: [String: Tensor]]
        /// llama-quantize --imatrix with the fixture's importance matrix.
        var imatrix_mixes: [String: [String: Tensor]]
    }

    static let importanceMatrix = TestPaths.repoRoot + "/Tests/PipelineTests/Fixtures/tiny-llama.imatrix.gguf.bytes"

    static let fixture: Fixture = {
        let path = TestPaths.repoRoot + "/Tests/PipelineTests/Fixtures/llama-quantize-tiny-llama.json"
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }()

    func profile(_ mix: String, codes: GGMLCodeChoice? = nil) throws -> Profile {
        var p = try TestModels.profile("gguf-" + mix.lowercased())
        p.ggmlCodes = codes
        return p
    }

    /// Compresses tiny-llama with the profile and exports it; returns the GGUF path (removed by the caller's folder).
    func gguf(_ profile: Profile, workers: Int = 2, in dir: String, importanceMatrix: ImportanceMatrix? = nil) throws -> String {
        _ = try TestModels.compress(TestModels.tinyLlama, profile: profile, workers: workers, out: dir + "/pkg", importanceMatrix: importanceMatrix)
        let file = dir + "/model.gguf"
        _ = try GGUFExporter.export(try PackageReader(path: dir + "/pkg"), to: file)
        return file
    }

    func testReferenceCodesAreLlamaQuantizesBytesForEveryMix() throws {
        XCTAssertEqual(Self.fixture.mixes.count, 8)
        try assertLlamaQuantizesBytes(Self.fixture.mixes, importanceMatrix: nil)
    }

    /// llama.cpp's importance-weighted quantizers (quantize_row_*_impl), fed the same llama-imatrix file.
    func testReferenceCodesWithAnImportanceMatrixAreLlamaQuantizeImatrixsBytes() throws {
        XCTAssertEqual(Self.fixture.imatrix_mixes.count, 5)
        let m = try ImportanceMatrix(path: Self.importanceMatrix)
        XCTAssertEqual(m.columns.count, 28, "4 layers x 7 linears")
        try assertLlamaQuantizesBytes(Self.fixture.imatrix_mixes, importanceMatrix: m)
    }

    func assertLlamaQuantizesBytes(_ mixes: [String: [String: Fixture.Tensor]], importanceMatrix: ImportanceMatrix?) throws {
        for (mix, expected) in mixes.sorted(by: { $0.key < $1.key }) {
            let dir = TestModels.temporaryFolder("gguf-ref-\(mix)")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let file = try GGUFFile(path: try gguf(try profile(mix, codes: .reference), in: dir, importanceMatrix: importanceMatrix))
            XCTAssertEqual(Set(file.tensors.map(\.name)), Set(expected.keys), mix)
            for t in file.tensors {
                XCTAssertEqual(t.type.rawValue, expected[t.name]?.type, "\(mix) \(t.name)")
                XCTAssertEqual(Digest.sha256Hex(try file.rawRows(t, start: 0, count: t.rows)), expected[t.name]?.sha256, "\(mix) \(t.name) \(t.type)")
            }
        }
    }

    func testOurCodesKeepTheBytesAndLowerTheError() throws {
        let source = try Checkpoint(folder: TestModels.tinyLlama)
        for mix in ["Q3_K_M", "Q2_K"] {
            let dir = TestModels.temporaryFolder("gguf-ours-\(mix)")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let ours = try GGUFFile(path: try gguf(try profile(mix), in: dir + "/ours"))
            let reference = try GGUFFile(path: try gguf(try profile(mix, codes: .reference), in: dir + "/ref"))
            var errorOurs = 0.0, errorReference = 0.0
            for (a, b) in zip(ours.tensors, reference.tensors) {
                XCTAssertEqual(a, b, "same name, shape, type and offset")
                guard a.type.isQuantized else { continue }
                let hf = source.tensors.first { GGUFLlamaNames(try! LlamaHyperParameters(config: source.config, file: "")).ggufName(hf: $0.name) == a.name }!
                var x = try source.readRows(hf, start: 0, count: a.rows)
                if let heads = GGUFLlamaNames(try LlamaHyperParameters(config: source.config, file: "")).permutedHeads(hf: hf.name) {
                    let perm = GGUFRowPermutation(heads: heads, rows: a.rows)!
                    let hfRows = x
                    for g in 0..<a.rows { let h = perm.hfRow(forGGUFRow: g); x[g * a.columns..<(g + 1) * a.columns] = hfRows[h * a.columns..<(h + 1) * a.columns] }
                }
                let ya = try ours.readRows(a, start: 0, count: a.rows), yb = try reference.readRows(b, start: 0, count: b.rows)
                for i in x.indices {
                    errorOurs += Double(x[i] - ya[i]) * Double(x[i] - ya[i])
                    errorReference += Double(x[i] - yb[i]) * Double(x[i] - yb[i])
                }
            }
            print("\(mix): squared error ours / llama.cpp's reference codes = \(errorOurs / errorReference)")
            XCTAssertLessThan(errorOurs, errorReference, mix)
        }
    }

    func testTheFileIsTheSameForAnyWorkerCountAndReadsBack() throws {
        let one = TestModels.temporaryFolder("gguf-w1"), three = TestModels.temporaryFolder("gguf-w3")
        defer { for d in [one, three] { try? FileManager.default.removeItem(atPath: d) } }
        let a = try gguf(try profile("Q4_K_M"), workers: 1, in: one), b = try gguf(try profile("Q4_K_M"), workers: 3, in: three)
        XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b))
        let file = try GGUFFile(path: a)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 32)
        XCTAssertEqual(file.dataStart % 32, 0)
        for t in file.tensors { XCTAssertEqual(t.offset % 32, 0, t.name) }
        XCTAssertEqual(file["general.architecture"]?.stringValue, "llama")
        XCTAssertEqual(file["general.file_type"]?.intValue, 15)
        XCTAssertEqual(file["llama.block_count"]?.intValue, 4)
        XCTAssertEqual(file["tokenizer.ggml.model"]?.stringValue, "gpt2")
        XCTAssertEqual(file["tokenizer.ggml.tokens"]?.arrayValue?.count, 256)
        XCTAssertEqual(file.tensors.first { $0.name == "blk.0.attn_norm.weight" }?.type, .f32)

        // The file's SHA-256 only when asked for (`export --sha256`), and then the one of the bytes written.
        let digested = try GGUFExporter.export(try PackageReader(path: one + "/pkg"), to: one + "/digested.gguf", digesting: true)
        XCTAssertEqual(digested.sha256, try Digest.sha256Hex(file: a))
        XCTAssertNil(try GGUFExporter.export(try PackageReader(path: one + "/pkg"), to: one + "/plain.gguf").sha256)
    }

    func testAPackageOfOtherFormatsIsRefusedByNameOrRequantized() throws {
        let dir = TestModels.temporaryFolder("gguf-int4")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try TestModels.compress(TestModels.tinyLlama, profile: try TestModels.profile("uniform-int4"), workers: 2, out: dir + "/pkg")
        let reader = try PackageReader(path: dir + "/pkg")
        XCTAssertThrowsError(try GGUFExporter.export(reader, to: dir + "/refused.gguf")) { error in
            XCTAssertTrue("\(error)".contains("tensor 'model.layers.0.") && "\(error)".contains("--requantize"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/refused.gguf"))
        let s = try GGUFExporter.export(reader, to: dir + "/q8.gguf", requantize: true)
        XCTAssertEqual(s.requantized.count, 28)
        XCTAssertTrue(s.requantized.allSatisfy { $0.relativeError > 0 && $0.relativeError < 0.01 }, "\(s.requantized)")
        XCTAssertEqual(try GGUFFile(path: dir + "/q8.gguf").tensors.filter { $0.type == .q8_0 }.count, 28)
    }
}
