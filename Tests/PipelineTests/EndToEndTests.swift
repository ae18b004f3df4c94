import XCTest
import Foundation
@testable import Engine
@testable import Pipeline
import Validation

/// The whole single-machine path on the real tiny-llama checkpoint: compress, determinism, export.
final class EndToEndTests: XCTestCase {
    func testPackagesFromOneAndTwoWorkersAreByteIdentical() throws {
        let p = try TestModels.profile("uqcit")
        let a = TestModels.temporaryFolder("w1"), b = TestModels.temporaryFolder("w2")
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        _ = try TestModels.compress(TestModels.tinyLlama, profile: p, workers: 1, out: a)
        _ = try TestModels.compress(TestModels.tinyLlama, profile: p, workers: 2, out: b)
        let fa = try TestModels.packageFiles(a), fb = try TestModels.packageFiles(b)
        XCTAssertEqual(Set(fa.keys), Set(fb.keys))
        XCTAssertTrue(fa.keys.contains("layers/layer_003/weights.quant"))
        XCTAssertTrue(fa.keys.contains("layers/embeddings/weights.quant"))
        XCTAssertTrue(fa.keys.contains("layers/head/weights.quant"))
        for name in ["rotation.json", "precision_map.json", "ghz_clusters.json"] { XCTAssertNotNil(fa["layers/layer_000/" + name]) }
        for (k, v) in fa { XCTAssertEqual(v, fb[k], "file \(k) differs between --workers 1 and --workers 2") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: a + "/.uqcit/staging"), "staging removed after the job")
    }

    func testPackageMetadataIsMeasuredAndExportMatchesIt() throws {
        let p = try TestModels.profile("uqcit")
        let pkg = TestModels.temporaryFolder("pkg"), ex = TestModels.temporaryFolder("export")
        defer { try? FileManager.default.removeItem(atPath: pkg); try? FileManager.default.removeItem(atPath: ex) }
        let s = try TestModels.compress(TestModels.tinyLlama, profile: p, workers: 2, out: pkg)
        let m = s.metadata.measured
        // Bits counted from bytes: the layers/ folder's size on disk over all parameters.
        var bytes = 0
        for case let rel as String in FileManager.default.enumerator(atPath: pkg + "/layers")! {
            let attrs = try FileManager.default.attributesOfItem(atPath: pkg + "/layers/" + rel)
            if (attrs[.type] as? FileAttributeType) == .typeRegular { bytes += attrs[.size] as! Int }
        }
        XCTAssertEqual(m.layersFolderBytes, bytes)
        XCTAssertEqual(m.bitsPerWeightLayersFolder, Double(bytes * 8) / Double(s.metadata.source.parameters), accuracy: 1e-9)
        XCTAssertEqual(Set(m.levels.keys), ["0", "1", "2", "3", "4", "5"])
        XCTAssertEqual(m.levels["3"]!.patterns, ["10-90"])

        try Exporter.export(PackageReader(path: pkg), to: ex)
        let source = try Checkpoint(folder: TestModels.tinyLlama)
        let exported = try Checkpoint(folder: ex)
        XCTAssertEqual(exported.tensors.map(\.name), source.tensors.map(\.name))
        let reports = try PackageJSON.decode([TensorReport].self, from: Array(FileManager.default.contents(atPath: pkg + "/validation/tensors.json")!))
        for (s, e) in zip(source.tensors, exported.tensors) {
            XCTAssertEqual(e.entry.dtype, s.entry.dtype)
            XCTAssertEqual(e.entry.shape, s.entry.shape)
            let w = try source.readRows(s, start: 0, count: s.entry.rows)
            let q = try exported.readRows(e, start: 0, count: e.entry.rows)
            let report = reports.first { $0.name == s.name }!
            if report.pattern == nil {
                XCTAssertEqual(w, q, "\(s.name) is kept at source precision")
                continue
            }
            var err = 0.0, sig = 0.0
            for i in 0..<w.count { err += Double(w[i] - q[i]) * Double(w[i] - q[i]); sig += Double(w[i]) * Double(w[i]) }
            // The export rounds to bf16 once more, so its error is the package's within that rounding.
            XCTAssertEqual((err / sig).squareRoot(), report.relativeError, accuracy: 0.01 + 0.05 * report.relativeError, s.name)
            XCTAssertLessThan(report.relativeError, 0.35, s.name)
        }
    }

    func testUniformInt4MatchesTheReferenceBitsAndBeatsPlainRTN() throws {
        let p = try TestModels.profile("uniform-int4")
        let pkg = TestModels.temporaryFolder("u4")
        defer { try? FileManager.default.removeItem(atPath: pkg) }
        let s = try TestModels.compress(TestModels.tinyLlama, profile: p, workers: 2, out: pkg)
        // reference.py's RTN int4 g128 counts 4 bits + one 16-bit scale per 128 weights.
        XCTAssertLessThanOrEqual(s.metadata.measured.bitsPerWeightQuantizedTensors, 4.125 + 1e-9)
        let source = try Checkpoint(folder: TestModels.tinyLlama)
        let reader = try PackageReader(path: pkg)
        for t in source.tensors where t.name.hasSuffix("proj.weight") {
            let w = try source.readRows(t, start: 0, count: t.entry.rows)
            let q = try reader.reconstructRows(t.name, start: 0, count: t.entry.rows)
            let rtn = RoundToNearest.apply(w, cols: t.entry.columns, bits: 4, group: 128)
            XCTAssertLessThanOrEqual(sse(w, q), sse(w, rtn) * 1.0001, "\(t.name): error-minimising scales must not lose to max/qmax")
        }
        XCTAssertEqual(s.metadata.measured.levels["1"]!.bitsPerWeight, 16, "embeddings kept at source precision")
    }

    func sse(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } }
}
