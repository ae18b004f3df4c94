import XCTest
import Foundation
@testable import Validation
@testable import Pipeline
@testable import Engine

/// The auto profile on the real tiny-llama: the package meets the budget counted from its bytes, and the
/// allocation is the same every time (a resumed job must find the same profile).
final class AutoAllocationTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let model = URL(fileURLWithPath: repo + "/../shared/models/tiny-llama-bytes").standardized.path

    func testAutoMeetsTheBudgetAndIsDeterministic() throws {
        let auto = try ProfileLoader.load(Self.repo + "/cluster-config/profiles/auto.yaml")
        let a = try AutoAllocation.resolve(model: Self.model, profile: auto, targetBitsPerWeight: 3.5, workers: 2)
        let b = try AutoAllocation.resolve(model: Self.model, profile: auto, targetBitsPerWeight: 3.5, workers: 2)
        XCTAssertEqual(a.profile.overrides, b.profile.overrides)
        XCTAssertEqual(a.profile.hash, b.profile.hash)
        let out = NSTemporaryDirectory() + "uqcit-auto-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let s = try CompressionJob.run(JobOptions(model: Self.model, out: out, profile: a.profile, workers: 2, progress: false))
        let bpw = s.metadata.measured.bitsPerWeightLayersFolder
        XCTAssertLessThanOrEqual(bpw, 3.5)
        XCTAssertGreaterThan(bpw, 3.3, "the allocation should use most of the budget")
        // The head moves the output most (measured sensitivity): it must not get fewer bits than the median weight.
        let chosen = a.profile.overrides!
        let bits = { (p: LevelPolicy) in Double(p.high.bits) * p.highFraction + Double(p.low.bits) * (1 - p.highFraction) }
        let sorted = chosen.values.map(bits).sorted()
        XCTAssertGreaterThanOrEqual(bits(chosen["lm_head.weight"]!), sorted[sorted.count / 2])
    }
}
