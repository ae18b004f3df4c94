import XCTest
import Foundation
@testable import Engine
@testable import Pipeline
@testable import Coordinator
import Runtime

/// A real CAPTURE of tiny-llama's first block passes the validator; its result bent in each field a worker
/// controls is refused, and a worker without a forward pass refuses the task instead of guessing.
final class LayerPassResultTests: XCTestCase {
    private var folder = ""
    override func setUp() { folder = TestModels.temporaryFolder("layer-pass") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func testCaptureWritesExactlyItsFourHessiansAndBentResultsAreRefused() throws {
        let source = try Checkpoint(folder: TestModels.tinyLlama)
        let text = Array(try String(contentsOfFile: TestModels.tinyLlama + "/README.md", encoding: .utf8).utf8).map(Int.init)
        let plan = try JobPlan(source: source, profile: TestModels.profile("gptq-int3"), calibration: (text, "README.md"))
        let calibration = try XCTUnwrap(plan.calibration)
        XCTAssertEqual(calibration.shards.count, 1, "\(text.count) bytes make fewer than 8 sequences of 512: one shard")
        let task = TaskSpec.captureTask(anchor: calibration.blocks[0].anchor, calibration.layerPass(block: 0, shard: 0, hidden: nil))
        let staging = folder + "/staging"

        let real = try StepExecutor(source: source, stagingFolder: staging, layerPasses: BlockLayerPasses()).execute(task)
        XCTAssertNoThrow(try ResultValidator.check(real, against: task))
        XCTAssertEqual(real.outputs.map(\.name).sorted(), HessianSpace.allCases.map { StagingNames.hessian(layer: 0, shard: 0, space: $0) }.sorted())
        XCTAssertNoThrow(try ResultValidator.verifyStaged(real.outputs, root: staging))
        // H = Σ xxᵀ: symmetric, with a non-negative diagonal; down_proj's input is the intermediate width.
        let down = try CalibrationFiles.sumHessians([real.outputs.first { $0.name.contains("down_in") }!], columns: 768, stagingFolder: staging)
        XCTAssertTrue((0..<768).allSatisfy { down[$0 * 768 + $0] >= 0 })
        XCTAssertEqual(down[3 * 768 + 700], down[700 * 768 + 3])

        func assertRefused(_ o: TaskOutcome, mentioning word: String, line: UInt = #line) {
            XCTAssertThrowsError(try ResultValidator.check(o, against: task), line: line) {
                XCTAssertTrue("\($0)".contains(word), "\($0) should mention \(word)", line: line)
            }
        }
        var o = real; o.layerPass!.tokens += 1
        assertRefused(o, mentioning: "tokens")
        o = real; o.layerPass = nil
        assertRefused(o, mentioning: "without its layer pass")
        o = real; o.outputs[0].name = StagingNames.hidden(layer: 1, shard: 0)
        assertRefused(o, mentioning: "outputs")
        o = real; o.outputs.removeLast()
        assertRefused(o, mentioning: "outputs")
        o = real; o.outputs[1].size = 1 << 40
        assertRefused(o, mentioning: "bytes")
        o = real; o.tile = TileResult(sourceSumSquares: 0, errorSumSquares: 0, maxAbsError: 0, highElements: 0, elements: 0)
        assertRefused(o, mentioning: "carries a tile")

        XCTAssertThrowsError(try StepExecutor(source: source, stagingFolder: staging).execute(task)) {
            XCTAssertTrue("\($0)".contains("no forward pass for layer passes"), "\($0)")
        }
    }
}
