import Foundation
import XCTest
import TestSupport
@testable import Engine
@testable import Pipeline

/// `export --format compressed-tensors`: the packed words and scales decode to exactly the weights of the bf16
/// export, the config names the scheme, and a package the format cannot carry is refused by tensor name.
final class CompressedTensorsExportTests: XCTestCase {
    func testUniformInt4DecodesToTheBF16Export() throws {
        let pkg = TestModels.temporaryFolder("ct-pkg"), ct = TestModels.temporaryFolder("ct-out"), hf = TestModels.temporaryFolder("ct-hf")
        defer { for d in [pkg, ct, hf] { try? FileManager.default.removeItem(atPath: d) } }
        _ = try TestModels.compress(TestModels.tinyLlama, profile: try TestModels.profile("uniform-int4"), workers: 2, out: pkg)
        let reader = try PackageReader(path: pkg)
        try CompressedTensorsExporter.export(reader, to: ct)
        try Exporter.export(reader, to: hf)

        let packed = try SafetensorsFile(path: ct + "/model.safetensors")
        let dense = try SafetensorsFile(path: hf + "/model.safetensors")
        var modules = 0
        for e in packed.tensors where e.name.hasSuffix(".weight_packed") {
            let m = String(e.name.dropLast(".weight_packed".count))
            let scaleEntry = packed.entry(m + ".weight_scale")!
            let scales = NamedArray(name: "s", dtype: .f16, shape: scaleEntry.shape, bytes: try packed.rawBytes(scaleEntry)).halfBits
            let words = try packed.rawBytes(e)
            let reference = try dense.readRows(dense.entry(m + ".weight")!, start: 0, count: e.shape[0])
            let cols = e.shape[1] * 8, groups = cols / 128
            XCTAssertEqual(packed.entry(m + ".weight_shape")?.shape, [2])
            for r in 0..<e.shape[0] {
                for c in 0..<cols {
                    let nibble = (words[(r * cols + c) / 2] >> (c % 2 == 0 ? 0 : 4)) & 0x0F
                    let w = Float(Int(nibble) - 8) * HalfPrecision.f16ToFloat(scales[r * groups + c / 128])
                    XCTAssertEqual(HalfPrecision.floatToBF16(w), HalfPrecision.floatToBF16(reference[r * cols + c]), "\(m)[\(r),\(c)]")
                }
            }
            modules += 1
        }
        XCTAssertEqual(modules, 28)   // 4 blocks x (q, k, v, o, gate, up, down)
        XCTAssertNotNil(packed.entry("lm_head.weight"))
        let config = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: ct + "/config.json"))))
        let q = config["quantization_config"]
        XCTAssertEqual(q?["format"]?.stringValue, "pack-quantized")
        XCTAssertEqual(q?["config_groups"]?["group_0"]?["weights"]?["group_size"]?.doubleValue, 128)
        XCTAssertEqual(q?["ignore"]?.arrayValue?.compactMap(\.stringValue), ["lm_head"])
        // At its compressed size: the packed file is about a quarter of the bf16 one.
        let ctBytes = try FileManager.default.attributesOfItem(atPath: ct + "/model.safetensors")[.size] as! Int
        let hfBytes = try FileManager.default.attributesOfItem(atPath: hf + "/model.safetensors")[.size] as! Int
        XCTAssertLessThan(Double(ctBytes), 0.3 * Double(hfBytes))
    }

    func testTheDesignsPackageIsRefusedByTensorName() throws {
        let pkg = TestModels.temporaryFolder("ct-uqcit"), ct = TestModels.temporaryFolder("ct-refused")
        defer { for d in [pkg, ct] { try? FileManager.default.removeItem(atPath: d) } }
        _ = try TestModels.compress(TestModels.tinyLlama, profile: try TestModels.profile("uqcit"), workers: 2, out: pkg)
        XCTAssertThrowsError(try CompressedTensorsExporter.export(try PackageReader(path: pkg), to: ct)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("tensor 'model.") && text.contains("compressed-tensors"), text)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: ct + "/model.safetensors"))
    }
}
