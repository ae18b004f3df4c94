import XCTest
import Foundation
@testable import Engine
@testable import Pipeline

/// What the package's side files promise: invariants of the rotation, the realised patterns, compensation that
/// lowers the error, and element granularity (sparse outliers) decoding to what was measured.
final class PackageContentTests: XCTestCase {
    func testRotationInvariantsAndCompensationAreRecorded() throws {
        let pkg = TestModels.temporaryFolder("content")
        defer { try? FileManager.default.removeItem(atPath: pkg) }
        _ = try TestModels.compress(TestModels.tinyLlama, profile: TestModels.profile("uqcit"), workers: 2, out: pkg)
        let rotation = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: pkg + "/layers/layer_001/rotation.json"))) as! [String: [String: Any]]
        XCTAssertEqual(rotation.count, 7)
        for (name, r) in rotation {
            let inv = r["invariants"] as! [String: Double]
            XCTAssertLessThan(inv["maxAbsGGPlusI"]!, 1e-5, name)
            XCTAssertLessThan(inv["maxRowNormRelError"]!, 1e-5, name)
            XCTAssertLessThan(inv["topSingularValueRelError"]!, 1e-4, name)
            XCTAssertEqual((r["seedTrials"] as! [Any]).count, 4, name)
        }
        let reports = try PackageJSON.decode([TensorReport].self, from: Array(FileManager.default.contents(atPath: pkg + "/validation/tensors.json")!))
        let o = reports.first { $0.name == "model.layers.1.self_attn.o_proj.weight" }!
        XCTAssertEqual(o.compensationRank, 8)
        XCTAssertLessThan(o.relativeError, o.relativeErrorBeforeCompensation!, "low-rank compensation must lower the error")
        XCTAssertEqual(o.realisedHighFraction!, 0.1, accuracy: 0.05)
        // The compensated reconstruction the reader gives back has the error the report states.
        let source = try Checkpoint(folder: TestModels.tinyLlama)
        let t = source.tensors.first { $0.name == o.name }!
        let w = try source.readRows(t, start: 0, count: 256)
        let q = try PackageReader(path: pkg).reconstructRows(o.name, start: 0, count: 256)
        var e = 0.0, s = 0.0
        for i in 0..<w.count { e += Double(w[i] - q[i]) * Double(w[i] - q[i]); s += Double(w[i]) * Double(w[i]) }
        XCTAssertEqual((e / s).squareRoot(), o.relativeError, accuracy: 1e-4)
    }

    func testElementGranularityRoundTripsThroughThePackage() throws {
        var p = try TestModels.profile("uqcit")
        p.granularity = .element
        p.tileElements = 64 * 40   // several tiles per tensor, so sparse rows are split across tiles
        let model = TestModels.temporaryFolder("el-model"), pkg = TestModels.temporaryFolder("el")
        defer { try? FileManager.default.removeItem(atPath: model); try? FileManager.default.removeItem(atPath: pkg) }
        try TestModels.synthetic(at: model, hidden: 64, layers: 1)
        _ = try TestModels.compress(model, profile: p, workers: 2, out: pkg)
        let source = try Checkpoint(folder: model)
        let reader = try PackageReader(path: pkg)
        let reports = try PackageJSON.decode([TensorReport].self, from: Array(FileManager.default.contents(atPath: pkg + "/validation/tensors.json")!))
        for r in reports where r.pattern != nil {
            let t = source.tensors.first { $0.name == r.name }!
            let w = try source.readRows(t, start: 0, count: t.entry.rows)
            // Read in uneven row ranges: the sparse part must be sliced by its per-row counts.
            var q: [Float] = []
            var start = 0
            for n in [1, 7, 30] + [t.entry.rows] {
                let m = min(n, t.entry.rows - start)
                if m <= 0 { break }
                q += try reader.reconstructRows(r.name, start: start, count: m)
                start += m
            }
            var e = 0.0, s = 0.0
            for i in 0..<w.count { e += Double(w[i] - q[i]) * Double(w[i] - q[i]); s += Double(w[i]) * Double(w[i]) }
            XCTAssertEqual((e / s).squareRoot(), r.relativeError, accuracy: 1e-4, r.name)
            XCTAssertEqual(r.realisedHighFraction!, r.plannedHighFraction!, accuracy: 0.08, r.name)
        }
    }

    func testProfilesLoadAndInherit() throws {
        let u = try TestModels.profile("uqcit"), b = try TestModels.profile("uniform-int4")
        XCTAssertEqual(u.policy(level: 3)?.pattern, "10-90")
        XCTAssertEqual(u.policy(level: 3)?.high, .fp16)
        XCTAssertEqual(u.policy(level: 3)?.low, .int2)
        XCTAssertEqual(b.roles, u.roles, "uniform-int4 inherits the role table")
        XCTAssertEqual(b.keepSource, ["embedding", "output_head", "router"])
        XCTAssertNotEqual(u.hash, b.hash)
        XCTAssertThrowsError(try ProfileLoader.load("no-such-profile")) { XCTAssertTrue("\($0)".contains("not found")) }
    }
}
