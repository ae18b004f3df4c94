import XCTest
import Foundation
@testable import Engine
@testable import Pipeline

/// Bad input: a clear error, and nothing half-written left looking complete.
final class BadInputTests: XCTestCase {
    func testNaNWeightStopsTheJobNamingTheTensor() throws {
        let model = TestModels.temporaryFolder("nan"), out = TestModels.temporaryFolder("nan-out")
        defer { try? FileManager.default.removeItem(atPath: model); try? FileManager.default.removeItem(atPath: out) }
        try TestModels.synthetic(at: model, poison: "model.layers.0.mlp.down_proj.weight")
        XCTAssertThrowsError(try TestModels.compress(model, profile: TestModels.profile("uqcit"), workers: 2, out: out)) { e in
            XCTAssertTrue("\(e)".contains("tensor 'model.layers.0.mlp.down_proj.weight': NaN or Inf"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/uqcit_metadata.json"))
        XCTAssertThrowsError(try PackageReader(path: out)) { XCTAssertTrue("\($0)".contains("no uqcit_metadata.json")) }
    }

    func testOutputFolderOfAnotherJobIsRefused() throws {
        let model = TestModels.temporaryFolder("m"), out = TestModels.temporaryFolder("o")
        defer { try? FileManager.default.removeItem(atPath: model); try? FileManager.default.removeItem(atPath: out) }
        try TestModels.synthetic(at: model)
        _ = try TestModels.compress(model, profile: TestModels.profile("uqcit"), workers: 1, out: out)
        let before = try TestModels.packageFiles(out)
        XCTAssertThrowsError(try TestModels.compress(model, profile: TestModels.profile("uniform-int4"), workers: 1, out: out)) {
            XCTAssertTrue("\($0)".contains("holds a job for a different profile"), "\($0)")
        }
        XCTAssertEqual(try TestModels.packageFiles(out), before, "the refused job changed nothing")
        // The same job again finds the package complete.
        XCTAssertTrue(try TestModels.compress(model, profile: TestModels.profile("uqcit"), workers: 1, out: out).alreadyComplete)
    }

    func testNonEmptyForeignFolderIsRefused() throws {
        let model = TestModels.temporaryFolder("m"), out = TestModels.temporaryFolder("o")
        defer { try? FileManager.default.removeItem(atPath: model); try? FileManager.default.removeItem(atPath: out) }
        try TestModels.synthetic(at: model)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: out + "/notes.txt"))
        XCTAssertThrowsError(try TestModels.compress(model, profile: TestModels.profile("uqcit"), workers: 1, out: out)) {
            XCTAssertTrue("\($0)".contains("holds no uqcit job"), "\($0)")
        }
        XCTAssertEqual(try String(contentsOfFile: out + "/notes.txt", encoding: .utf8), "keep me")
    }

    func testMissingModelFolder() throws {
        XCTAssertThrowsError(try TestModels.compress("/nonexistent/model", profile: TestModels.profile("uqcit"), workers: 1, out: TestModels.temporaryFolder("x"))) {
            XCTAssertEqual("\($0)", "/nonexistent/model: no such model folder")
        }
    }
}
