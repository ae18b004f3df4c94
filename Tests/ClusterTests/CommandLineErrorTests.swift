import XCTest
import Foundation
@testable import Engine

/// Bad input through the real executables: a clear message naming the file or tensor, a non-zero exit, and
/// no package left that looks complete.
final class CommandLineErrorTests: XCTestCase {
    func run(_ exe: String, _ args: [String]) throws -> (status: Int32, stderr: String) {
        let c = try Child(exe, args)
        let s = c.exitStatus(within: 60)
        return (s, c.stderr)
    }

    func checkpoint(_ tensors: [NamedArray], raw: [UInt8]? = nil) throws -> String {
        let dir = Cluster.temporaryFolder("bad-model")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(#"{"model_type":"llama","vocab_size":8}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        try Data(raw ?? SafetensorsWriter.encode(tensors)).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        return dir
    }

    func testMissingModelFolder() throws {
        let out = Cluster.temporaryFolder("o")
        let r = try run("coordinator", ["start", "--model", "/nonexistent/model", "--out", out, "--quiet"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("/nonexistent/model: no such model folder"), r.stderr)
    }

    func testMalformedHeaderNamesTheFile() throws {
        let dir = try checkpoint([], raw: [200, 0, 0, 0, 0, 0, 0, 0] + Array("{\"w\":".utf8))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = Cluster.temporaryFolder("o")
        let r = try run("coordinator", ["start", "--model", dir, "--out", out, "--quiet"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains(dir + "/model.safetensors: malformed safetensors header"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/uqcit_metadata.json"))
    }

    func testUndecodableWeightDTypeNamesTheTensor() throws {
        let fp8 = NamedArray(name: "model.layers.0.mlp.up_proj.weight", dtype: .f8e4m3, shape: [4, 4], bytes: [UInt8](repeating: 1, count: 16))
        let dir = try checkpoint([fp8])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try run("uqcit", ["analyze", dir])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("tensor 'model.layers.0.mlp.up_proj.weight': dtype F8_E4M3 cannot be compressed"), r.stderr)
    }

    func testInspectAndExportRefuseWhatIsNotAFinishedPackage() throws {
        let empty = Cluster.temporaryFolder("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let r = try run("uqcit", ["inspect", empty])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("no uqcit_metadata.json"), r.stderr)
        let e = try run("uqcit", ["export", empty, "--out", Cluster.temporaryFolder("x")])
        XCTAssertNotEqual(e.status, 0)
    }
}
