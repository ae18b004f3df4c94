import Foundation
import XCTest
@testable import Engine
@testable import Coordinator
@testable import Pipeline

/// Frontier-scale sources without the disk: exact published shapes, deterministic heavy-tailed rows, and plans
/// the coordinator makes in seconds.
final class SyntheticSourceTests: XCTestCase {
    func testLlama405BAndDeepSeekV3HaveThePublishedShapesAndPlanQuickly() throws {
        let profile = try ProfileLoader.load(Cluster.repoRoot + "/cluster-config/profiles/uqcit.yaml")
        let llama = try SyntheticSource(name: "llama-3.1-405b")
        XCTAssertEqual(llama.tensors.count, 126 * 9 + 3)
        XCTAssertEqual(Double(llama.tensors.reduce(0) { $0 + $1.entry.elementCount }) / 1e9, 405.85, accuracy: 0.01)
        XCTAssertEqual(llama.tensors.first { $0.name == "model.layers.125.mlp.down_proj.weight" }?.entry.shape, [16384, 53248])

        let deepseek = try SyntheticSource(name: "deepseek-v3")
        let experts = deepseek.tensors.filter { $0.name.contains(".mlp.experts.") }
        XCTAssertEqual(experts.count, (61 - 3 + 1) * 256 * 3, "58 MoE layers and the MTP layer, 256 experts of 3 matrices")
        XCTAssertEqual(deepseek.tensors.first { $0.name == "model.layers.60.mlp.experts.255.down_proj.weight" }?.entry.shape, [7168, 2048])
        XCTAssertEqual(deepseek.tensors.first { $0.name == "model.layers.0.self_attn.kv_b_proj.weight" }?.entry.shape, [32768, 512])
        // 671B in the main model plus the 14B multi-token-prediction layer, as published.
        XCTAssertEqual(Double(deepseek.tensors.reduce(0) { $0 + $1.entry.elementCount }) / 1e9, 684.5, accuracy: 0.1)

        for source in [llama, deepseek] as [ModelSource] {
            let started = Date()
            let plan = try JobPlan(source: source, profile: profile)
            let scheduler = try JobScheduler(plan: plan)
            XCTAssertLessThan(Date().timeIntervalSince(started), 10, "planning \(source.location)")
            let expected = plan.assignments.indices.reduce(0) { n, i in
                guard let p = plan.assignments[i].policy else { return n }
                let rows = plan.assignments[i].tensor.entry.rows
                return n + 1 + (rows + plan.tileRows[i] - 1) / plan.tileRows[i] + (p.compensationRank > 0 ? 1 : 0)
            }
            XCTAssertEqual(plan.taskCount, expected)
            XCTAssertEqual(scheduler.readyCount, plan.assignments.filter(\.isQuantized).count)
        }
    }

    func testRowsAreDeterministicHeavyTailedAndMatchTheRawBytes() throws {
        let source = try SyntheticSource(name: "llama-3.1-8b")
        let t = try XCTUnwrap(source.tensors.first { $0.name == "model.layers.3.self_attn.k_proj.weight" })
        let rows = try source.readRows(t, start: 10, count: 64)
        XCTAssertEqual(rows, try SyntheticSource(name: "llama-3.1-8b").readRows(t, start: 10, count: 64), "same rows on every read")
        XCTAssertEqual(Array(rows[4096..<8192]), try source.readRows(t, start: 11, count: 1), "a row does not depend on where a read starts")
        let mean = rows.reduce(0.0) { $0 + Double($1) } / Double(rows.count)
        let m2 = rows.reduce(0.0) { $0 + pow(Double($1) - mean, 2) } / Double(rows.count)
        let m4 = rows.reduce(0.0) { $0 + pow(Double($1) - mean, 4) } / Double(rows.count)
        XCTAssertGreaterThan(m4 / (m2 * m2), 5, "kurtosis well above a Gaussian's 3")

        let norm = try XCTUnwrap(source.tensors.first { $0.name == "model.layers.3.input_layernorm.weight" })
        var raw: [UInt8] = []
        try source.forEachRawChunk(norm) { raw += $0 }
        XCTAssertEqual(raw.count, norm.entry.end - norm.entry.begin)
        let decoded = stride(from: 0, to: raw.count, by: 2).map { Float(bitPattern: UInt32(raw[$0]) << 16 | UInt32(raw[$0 + 1]) << 24) }
        XCTAssertEqual(decoded, try source.readRows(norm, start: 0, count: 1))
    }
}
