import Foundation
import TestSupport
import XCTest
@testable import Engine

/// GGUFMix picks, for every tensor of every mix, the type the real llama-quantize wrote. Fixtures come from
/// scripts/llama_quantize_types.py run on llama-quantize outputs: SmolLM2-135M (576-wide rows, so the block-size
/// fall-backs apply; tied embeddings) and tiny-llama-bytes (256-multiple rows; untied output; GQA 2).
final class GGUFMixTests: XCTestCase {
    struct Fixture: Decodable {
        struct Tensor: Decodable { let name: String; let shape: [Int]; let sourceType: String }
        struct Mix: Decodable { let types: [String]; let totalTensorBytes: Int }
        let architecture: String
        let layerCount: Int
        let headCount: Int
        let kvHeadCount: Int
        let expertCount: Int
        let tensors: [Tensor]
        let mixes: [String: Mix]
    }

    func load(_ name: String) throws -> Fixture {
        let url = URL(fileURLWithPath: TestPaths.repoRoot + "/Tests/EngineTests/Fixtures/gguf-mix/\(name).json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func model(_ fixture: Fixture) throws -> GGUFMixModel {
        let tensors = try fixture.tensors.map { t in
            GGUFMixModel.Tensor(name: t.name, shape: t.shape, sourceType: try XCTUnwrap(GGMLType(rawValue: t.sourceType)))
        }
        return GGUFMixModel(architecture: fixture.architecture, layerCount: fixture.layerCount, headCount: fixture.headCount,
                            kvHeadCount: fixture.kvHeadCount, expertCount: fixture.expertCount, tensors: tensors)
    }

    /// Every mix of the fixture: our types equal llama-quantize's, and those types' row sizes add up to its tensor bytes.
    func assertMatchesLlamaQuantize(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try load(name)
        let model = try model(fixture)
        XCTAssertEqual(Set(fixture.mixes.keys), Set(GGUFMix.allCases.map(\.rawValue)), "fixture covers every mix",
                       file: file, line: line)
        for (mixName, expected) in fixture.mixes {
            let mix = try XCTUnwrap(GGUFMix(rawValue: mixName), file: file, line: line)
            let types = try mix.tensorTypes(for: model)
            var bytes = 0
            for (i, tensor) in model.tensors.enumerated() {
                XCTAssertEqual(types[i].rawValue, expected.types[i], "\(mixName) \(tensor.name)", file: file, line: line)
                let rows = tensor.shape.dropFirst().reduce(1, *)
                bytes += try XCTUnwrap(types[i].rowBytes(columns: tensor.shape[0]), file: file, line: line) * rows
            }
            XCTAssertEqual(bytes, expected.totalTensorBytes, "\(mixName) total bytes", file: file, line: line)
        }
    }

    func testSmolLM2TypesMatchLlamaQuantize() throws {
        try assertMatchesLlamaQuantize("smollm2")
    }

    func testTinyLlamaTypesMatchLlamaQuantize() throws {
        try assertMatchesLlamaQuantize("tiny-llama")
    }

    /// llama.cpp visits tensors by layer number, not by name: blk.10 comes after blk.2, and the per-layer counters
    /// (attn_v, ffn_down) follow that order whatever order the caller lists tensors in.
    func testCountersFollowLayerOrderNotListOrder() throws {
        let layers = 16
        var tensors: [GGUFMixModel.Tensor] = [.init(name: "token_embd.weight", shape: [256, 512])]
        for i in (0..<layers).reversed() {
            tensors.append(.init(name: "blk.\(i).attn_v.weight", shape: [256, 256]))
            tensors.append(.init(name: "blk.\(i).ffn_down.weight", shape: [512, 256]))
            tensors.append(.init(name: "blk.\(i).attn_norm.weight", shape: [256]))
        }
        let model = GGUFMixModel(architecture: "llama", layerCount: layers, headCount: 8, kvHeadCount: 8, tensors: tensors)
        let types = Dictionary(uniqueKeysWithValues: zip(tensors.map(\.name), try GGUFMix.q4_K_M.tensorTypes(for: model)))
        for i in 0..<layers {
            let more: GGMLType = GGUFMixSelection.usesMoreBits(i, of: layers) ? .q6_K : .q4_K
            XCTAssertEqual(types["blk.\(i).attn_v.weight"], more, "attn_v \(i)")
            XCTAssertEqual(types["blk.\(i).ffn_down.weight"], more, "ffn_down \(i)")
            XCTAssertEqual(types["blk.\(i).attn_norm.weight"], .f32)
        }
        XCTAssertEqual(types["token_embd.weight"], .q6_K, "tied embeddings take the output's type")
    }

    /// llama.cpp's two ffn_down rules that depend on `has_imatrix`, on 16 layers (n/8 = 2): IQ4_XS bumps the first
    /// eighth to Q5_K only without a matrix, Q4_0 moves it to Q4_1 only with one (llama-quant.cpp).
    func testFFNDownRulesThatDependOnAnImportanceMatrix() throws {
        let layers = 16
        var tensors: [GGUFMixModel.Tensor] = [.init(name: "token_embd.weight", shape: [256, 512])]
        for i in 0..<layers { tensors.append(.init(name: "blk.\(i).ffn_down.weight", shape: [512, 256])) }
        func ffnDown(_ mix: GGUFMix, imatrix: Bool) throws -> [GGMLType] {
            let model = GGUFMixModel(architecture: "llama", layerCount: layers, headCount: 8, kvHeadCount: 8, tensors: tensors,
                                     hasImportanceMatrix: imatrix)
            return Array(try mix.tensorTypes(for: model).dropFirst())
        }
        XCTAssertEqual(try ffnDown(.iq4_xs, imatrix: false), [.q5_K, .q5_K] + [GGMLType](repeating: .iq4_xs, count: 14))
        XCTAssertEqual(try ffnDown(.iq4_xs, imatrix: true), [GGMLType](repeating: .iq4_xs, count: 16))
        XCTAssertEqual(try ffnDown(.q4_0, imatrix: false), [GGMLType](repeating: .q4_0, count: 16))
        XCTAssertEqual(try ffnDown(.q4_0, imatrix: true), [.q4_1, .q4_1] + [GGMLType](repeating: .q4_0, count: 14))
        XCTAssertEqual(try ffnDown(.q5_0, imatrix: true), [.q5_1, .q5_1] + [GGMLType](repeating: .q5_0, count: 14))
    }

    func testMoEFFNDownNeedsALayerInItsName() {
        let model = GGUFMixModel(architecture: "llama", layerCount: 2, headCount: 8, kvHeadCount: 8, expertCount: 8,
                                 tensors: [.init(name: "ffn_down_exps.weight", shape: [256, 256, 8])])
        XCTAssertThrowsError(try GGUFMix.q4_K_M.tensorTypes(for: model))
    }
}
