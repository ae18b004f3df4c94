import Foundation
import XCTest
import TestSupport
@testable import Engine
@testable import Coordinator

/// The real models in ../shared/models (beside the repository), and small synthetic checkpoints.
enum TestModels {
    static var tinyLlama: String { TestPaths.tinyLlama }
    static var miniLM: String { TestPaths.miniLM }

    static func profile(_ name: String) throws -> Profile { try ProfileLoader.load(TestPaths.profilePath(name)) }
    static func temporaryFolder(_ tag: String) -> String { TestPaths.temporaryFolder(tag) }
    static func packageFiles(_ root: String) throws -> [String: Data] { try TestPaths.packageFiles(root) }

    /// A llama-named checkpoint with random weights; `poison` puts a NaN into one tensor; `emptyTensor` adds a
    /// weight of zero rows under that name.
    static func synthetic(at dir: String, hidden: Int = 64, layers: Int = 1, poison: String? = nil, emptyTensor: String? = nil) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = #"{"model_type":"llama","architectures":["LlamaForCausalLM"],"vocab_size":32,"hidden_size":\#(hidden),"num_hidden_layers":\#(layers)}"#
        try Data(config.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        var g = SplitMix64(seed: 42)
        var arrays: [NamedArray] = []
        func add(_ name: String, _ shape: [Int]) {
            var v = (0..<shape.reduce(1, *)).map { _ in Float(Double(g.next() >> 11) / Double(1 << 53) - 0.5) * 0.1 }
            if name == poison { v[v.count / 2] = .nan }
            var b: [UInt8] = []
            for x in v { let u = HalfPrecision.floatToBF16(x); b += [UInt8(u & 0xFF), UInt8(u >> 8)] }
            arrays.append(NamedArray(name: name, dtype: .bf16, shape: shape, bytes: b))
        }
        add("model.embed_tokens.weight", [32, hidden])
        for l in 0..<layers {
            for p in ["q", "k", "v", "o"] { add("model.layers.\(l).self_attn.\(p)_proj.weight", [hidden, hidden]) }
            add("model.layers.\(l).mlp.gate_proj.weight", [2 * hidden, hidden])
            add("model.layers.\(l).mlp.down_proj.weight", [hidden, 2 * hidden])
            add("model.layers.\(l).input_layernorm.weight", [hidden])
        }
        add("lm_head.weight", [32, hidden])
        if let emptyTensor { add(emptyTensor, [0, hidden]) }
        try Data(SafetensorsWriter.encode(arrays)).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
    }

    static func compress(_ model: String, profile: Profile, workers: Int, out: String, importanceMatrix: ImportanceMatrix? = nil) throws -> JobSummary {
        try CompressionJob.run(JobOptions(model: model, out: out, profile: profile, workers: workers, progress: false, importanceMatrix: importanceMatrix))
    }
}
