import XCTest
import Foundation
@testable import Engine
@testable import Pipeline
@testable import Coordinator

/// The assembler copies a one-array tile (ggml blocks) from the bytes it verified: a tile whose bytes no longer
/// have the SHA-256 its journaled result states, even one changed after the package began, never reaches it.
final class AssemblerTileCheckTests: XCTestCase {
    func testATileChangedAfterItsResultWasJournaledNeverReachesThePackage() throws {
        let dir = TestModels.temporaryFolder("assembler-tiles"), staging = dir + "/staging"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try Checkpoint(folder: TestModels.tinyLlama)
        let plan = try JobPlan(checkpoint: source, profile: TestModels.profile("gguf-q8_0"))
        let i = try XCTUnwrap(plan.assignments.firstIndex { $0.isQuantized })
        let assembler = Assembler(plan: plan, source: source, stagingFolder: staging, packageFolder: dir + "/pkg")
        var generator = SystemRandomNumberGenerator()
        var staged: [String: TaskOutputFile] = [:]
        var data: [UInt8] = []
        let names = [StagingNames.tile(i, 0), StagingNames.tile(i, 1)]
        for name in names {
            let blocks = (0..<(2 * 34)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let bytes = SafetensorsWriter.encode([NamedArray(name: TileCodec.ggmlBlocks, dtype: .u8, shape: [2, 34], bytes: blocks)])
            try FileManager.default.createDirectory(atPath: (staging + "/" + name as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: staging + "/" + name))
            staged[name] = TaskOutputFile(name: name, size: bytes.count, sha256: Digest.sha256Hex(bytes))
            data += blocks
        }
        let piece = try XCTUnwrap(try assembler.oneArrayPiece(plan.assignments[i], tiles: names, staged: staged))
        XCTAssertEqual(piece.entry.shape, [4, 34])
        let out = try AtomicFileWriter(path: dir + "/copied")
        try piece.write(out)
        _ = try out.commit()
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/copied"))), data, "both tiles' blocks, in order")

        // The second tile changes on disk after its result was journaled (a worker writing into shared staging).
        var tampered = Array(try Data(contentsOf: URL(fileURLWithPath: staging + "/" + names[1])))
        tampered[tampered.count - 1] ^= 0x01
        try Data(tampered).write(to: URL(fileURLWithPath: staging + "/" + names[1]))
        let again = try AtomicFileWriter(path: dir + "/refused")
        XCTAssertThrowsError(try piece.write(again)) {
            XCTAssertTrue("\($0)".contains(names[1]) && "\($0)".contains("SHA-256"), "\($0)")
        }
        again.abandon()
    }
}
