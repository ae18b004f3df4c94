import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Validation
@testable import Engine

/// The pieces of the ablation report that need no model: the RTN baseline, the noise probe, the verdicts
/// and the chart.
final class ValidationTests: XCTestCase {
    func testRoundToNearestFollowsTheReferenceDefinition() {
        // One row, one group of 4: max|w| = 0.7, int4 qmax 7, scale 0.1; 0.25 rounds half to even (2), -0.35 to -4.
        let w: [Float] = [0.7, 0.25, -0.35, 0.04]
        let q = RoundToNearest.apply(w, cols: 4, bits: 4, group: 4)
        XCTAssertEqual(q[0], 0.7, accuracy: 1e-6)
        XCTAssertEqual(q[1], 0.2, accuracy: 1e-6)
        XCTAssertEqual(q[2], -0.4, accuracy: 1e-6)
        XCTAssertEqual(q[3], 0.0, accuracy: 1e-6)
        XCTAssertEqual(RoundToNearest.bitsPerWeight(bits: 4, group: 128, cols: 256), 4.125)
        XCTAssertEqual(RoundToNearest.bitsPerWeight(bits: 8, group: nil, cols: 256), 8.0625)
    }

    func testNoiseHasTheRequestedSizeAndIsSeededByName() {
        var g = SplitMix64(seed: 1)
        let w = (0..<20000).map { _ in Float(Double(g.next() >> 11) / Double(1 << 53) - 0.5) }
        let rms = (w.reduce(0.0) { $0 + Double($1 * $1) } / Double(w.count)).squareRoot()
        let n = NoiseInjection.apply(w, level: 0.25, name: "a")
        let noiseRMS = (zip(n, w).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(w.count)).squareRoot()
        XCTAssertEqual(noiseRMS / rms, 0.25, accuracy: 0.01)
        XCTAssertEqual(n, NoiseInjection.apply(w, level: 0.25, name: "a"))
        XCTAssertNotEqual(n, NoiseInjection.apply(w, level: 0.25, name: "b"))
        XCTAssertEqual(NoiseInjection.apply(w, level: 0, name: "a"), w)
    }

    func quality(_ q: Double, se: Double = 0.001) -> Quality {
        Quality(quality: q, standardError: se, perplexity: nil, meanKL: nil, meanCosine: q)
    }

    func report(full: Double, noRotation: Double) -> AblationReport {
        AblationReport(model: "m", kind: .embedding, qualityMeasure: "cosine", eval: "e", reference: quality(1, se: 0),
                       rows: [.init(name: "uqcit", group: "design", description: "", bitsPerWeight: 6, quality: quality(full)),
                              .init(name: "no-rotation", group: "ablation", description: "", bitsPerWeight: 6, quality: quality(noRotation)),
                              .init(name: "rtn-int4-g128-all", group: "baseline", description: "", bitsPerWeight: 4.125, quality: quality(0.9)),
                              .init(name: "auto-4.000", group: "auto", description: "", bitsPerWeight: 4.0, quality: quality(0.95))],
                       noise: [.init(scope: "level 3", noise: 0.25, quality: quality(0.99)), .init(scope: "level 4", noise: 0.25, quality: quality(0.9))],
                       patterns: [], invariants: nil,
                       levelDominance: [.init(level: 3, percentOfParameters: 10, qualityLoss: 0, qualityLossPerPercent: 0),
                                        .init(level: 4, percentOfParameters: 40, qualityLoss: 0, qualityLossPerPercent: 0)],
                       findings: [])
    }

    func testFindingsReadTheNumbersWithTheirUncertainty() {
        let helps = Findings.derive(report(full: 0.95, noRotation: 0.90))
        XCTAssertTrue(helps.contains { $0.hasPrefix("the G=i rotation helps") }, "\(helps)")
        let same = Findings.derive(report(full: 0.95, noRotation: 0.9495))
        XCTAssertTrue(same.contains { $0.hasPrefix("the G=i rotation makes no measurable difference") }, "\(same)")
        let hurts = Findings.derive(report(full: 0.90, noRotation: 0.95))
        XCTAssertTrue(hurts.contains { $0.hasPrefix("the G=i rotation hurts") }, "\(hurts)")
        XCTAssertTrue(helps.contains { $0.contains("auto-4.000") && $0.contains("better than rtn-int4-g128-all") }, "\(helps)")
        // Level 3 loses 0.01 at 10% of the parameters, level 4 loses 0.1 at 40%: level 3 resists by both measures.
        XCTAssertTrue(helps.contains { $0.contains("Level 3 does resist noise better") }, "\(helps)")
    }

    func testCalibratedFindingComparesGPTQWithDataFreeAndImportance() {
        var r = report(full: 0.95, noRotation: 0.95)
        r.rows += [.init(name: "data-free-int3", group: "calibrated", description: "", bitsPerWeight: 3.1, quality: quality(0.90)),
                   .init(name: "importance-int3", group: "calibrated", description: "", bitsPerWeight: 3.1, quality: quality(0.9301)),
                   .init(name: "gptq-int3", group: "calibrated", description: "", bitsPerWeight: 3.1, quality: quality(0.93))]
        let f = Findings.derive(r)
        XCTAssertTrue(f.contains { $0.hasPrefix("At int3 (3.100 bpw) GPTQ is better than data-free rounding and indistinguishable from diag(H) weighting") }, "\(f)")
        XCTAssertFalse(f.contains { $0.hasPrefix("At int4") }, "no int4 rows, no int4 sentence")
    }

    func testChartIsWellFormedSVGWithAPointPerVariant() throws {
        let r = report(full: 0.95, noRotation: 0.9)
        let svg = QualityChart.svg(r)
        final class Counter: NSObject, XMLParserDelegate {
            var circles = 0
            func parser(_ p: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if e == "circle" { circles += 1 }
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = Counter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertGreaterThanOrEqual(counter.circles, r.rows.count)
        XCTAssertTrue(r.text().contains("no-rotation"))
    }
}
