import XCTest
import TestSupport
import Foundation
@testable import Validation
@testable import Coordinator
@testable import Engine
import Pipeline

/// The auto profile on the real tiny-llama, through the job's own MEASURE tasks: the package meets the budget
/// counted from its bytes, and the same job gives the same bytes with one or two workers.
final class AutoAllocationTests: XCTestCase {
    static let model = TestPaths.tinyLlama

    func testAutoMeetsTheBudgetAndIsDeterministic() throws {
        var auto = try ProfileLoader.load(TestPaths.profilePath("auto"))
        auto.targetBitsPerWeight = 3.5
        let allocation = try AutoAllocation.allocation(model: Self.model, profile: auto, targetBitsPerWeight: 3.5)
        let a = TestPaths.temporaryFolder("auto"), b = TestPaths.temporaryFolder("auto")
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        let s = try CompressionJob.run(JobOptions(model: Self.model, out: a, profile: auto, workers: 1, progress: false, allocation: allocation))
        _ = try CompressionJob.run(JobOptions(model: Self.model, out: b, profile: auto, workers: 2, progress: false, allocation: allocation))
        XCTAssertEqual(try TestPaths.packageFiles(a), try TestPaths.packageFiles(b), "the same auto job with one and two workers")

        let bpw = s.metadata.measured.bitsPerWeightLayersFolder
        XCTAssertLessThanOrEqual(bpw, 3.5)
        XCTAssertGreaterThan(bpw, 3.3, "the allocation should use most of the budget")
        XCTAssertEqual(s.tasks, 30 + 64, "one MEASURE per quantized tensor, then the usual tasks")
        // The head moves the output most (measured sensitivity): it must not get fewer bits than the median weight.
        let chosen = try XCTUnwrap(s.metadata.profile.settings.overrides)
        XCTAssertEqual(chosen.count, 30)
        let bits = { (p: LevelPolicy) in Double(p.high.bits) * p.highFraction + Double(p.low.bits) * (1 - p.highFraction) }
        let sorted = chosen.values.map(bits).sorted()
        XCTAssertGreaterThanOrEqual(bits(chosen["lm_head.weight"]!), sorted[sorted.count / 2])
    }

    /// A GGUF source gets the sensitivity pass too (the runtime reads its tensors as it reads a folder's), on the
    /// text it is given: every tensor in the choice is weighted, and roles differ beyond their sizes.
    func testSensitivityPassReadsAGGUFSource() throws {
        let model = TestPaths.sharedModels + "/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf"
        let profile = try ProfileLoader.load(TestPaths.profilePath("gguf-auto"))
        let weights = try XCTUnwrap(Sensitivity.weights(model: model, profile: profile, calibration: TestPaths.sharedModels + "/smollm2-135m/eval.txt", windows: 1))
        let plan = try JobPlan(source: try ModelSources.open(model), profile: profile)
        let quantized = plan.assignments.filter(\.isQuantized)
        for a in quantized where a.level > 0 {
            XCTAssertGreaterThan(try XCTUnwrap(weights[a.name], a.name), 0, a.name)
        }
        let perWeight = { (name: String) in weights[name]! / Double(quantized.first { $0.name == name }!.tensor.entry.elementCount) }
        XCTAssertNotEqual(perWeight("model.layers.0.self_attn.q_proj.weight"), perWeight("model.layers.0.mlp.down_proj.weight"), accuracy: 1e-12)
        // Without text and without an eval.txt beside the file there is nothing to score: weighted by size.
        let bare = TestPaths.temporaryFolder("sensitivity")
        defer { try? FileManager.default.removeItem(atPath: bare) }
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bare + "/model.gguf", withDestinationPath: model)
        XCTAssertNil(try Sensitivity.weights(model: bare + "/model.gguf", profile: profile, calibration: nil, windows: 1))
    }

    func testAutoWithoutATargetIsRefused() throws {
        let auto = try ProfileLoader.load(TestPaths.profilePath("auto"))
        let out = TestPaths.temporaryFolder("auto")
        defer { try? FileManager.default.removeItem(atPath: out) }
        XCTAssertThrowsError(try CompressionJob.run(JobOptions(model: Self.model, out: out, profile: auto, workers: 1, progress: false))) {
            XCTAssertTrue("\($0)".contains("--target-bpw"), "\($0)")
        }
    }
}
