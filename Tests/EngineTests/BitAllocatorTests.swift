import XCTest
@testable import Engine

/// The `auto` allocation: within budget, and never worse than any single uniform choice at the same budget.
final class BitAllocatorTests: XCTestCase {
    func m(_ bytes: Int, _ err: Double) -> CandidateMeasurement {
        CandidateMeasurement(policy: LevelPolicy(pattern: "x", high: .int4, low: .int4, highFraction: 0, compensationRank: 0), bytes: bytes, relativeError: err)
    }

    func testStaysWithinBudgetAndBeatsUniformChoices() {
        var g = SplitMix64(seed: 7)
        func r() -> Double { Double(g.next() >> 11) / Double(1 << 53) }
        // Ten tensors, four candidates each: more bytes, less error, with per-tensor sensitivities.
        let params = (0..<10).map { _ in 1000 + Int(r() * 9000) }
        let ms: [[CandidateMeasurement]] = params.map { n in
            let s = 0.5 + 2 * r()
            return [2.5, 3.25, 4.25, 8.125].map { bits in m(Int(bits * Double(n) / 8), s * pow(2, -bits)) }
        }
        for uniform in 0..<4 {
            let budget = ms.reduce(0) { $0 + $1[uniform].bytes }
            let choice = BitAllocator.allocate(ms, weights: params.map(Double.init), budgetBytes: budget)!
            XCTAssertLessThanOrEqual(choice.reduce(0) { $0 + $1.bytes }, budget)
            let uniformLoss = zip(ms, params).reduce(0.0) { $0 + Double($1.1) * $1.0[uniform].relativeError * $1.0[uniform].relativeError }
            XCTAssertLessThanOrEqual(choice.reduce(0) { $0 + $1.loss }, uniformLoss * (1 + 1e-12))
        }
        XCTAssertNil(BitAllocator.allocate(ms, weights: params.map(Double.init), budgetBytes: 10), "a budget below the cheapest choice is refused")
    }

    func testHullDropsDominatedCandidates() {
        let h = BitAllocator.hull([.init(candidate: 0, bytes: 10, loss: 5), .init(candidate: 1, bytes: 20, loss: 6),
                                   .init(candidate: 2, bytes: 30, loss: 4.9), .init(candidate: 3, bytes: 40, loss: 1)])
        XCTAssertEqual(h.map(\.candidate), [0, 3], "1 costs more and loses more; 2 lies above the 0-3 segment")
    }
}
