import XCTest
import Foundation
@testable import Engine
@testable import Pipeline
@testable import Coordinator
import Runtime
import TestSupport

/// Calibrated jobs on the real BERT (all-MiniLM-L6-v2): its layer passes chain to the encoder's own forward pass,
/// and GPTQ at 3 bits keeps its sentence embeddings closer to the source's than round to nearest on the same grid,
/// with the same package from one worker and two.
final class BertCalibratedTests: XCTestCase {
    private var folder = ""
    override func setUp() { folder = TestModels.temporaryFolder("bert-calibrated") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// English text disjoint from the sentences scored below: the repository's README.
    private var calibrationFile: String { TestPaths.repoRoot + "/README.md" }

    private func profile(_ base: String, sequences: Int, length: Int) throws -> Profile {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let yaml = """
            inherits: \(TestPaths.profilePath(base))
            calibration: {sequence_length: \(length), sequences: \(sequences), shard_sequences: 4, damping: 0.01, block_size: 128, act_order: true}
            """
        try yaml.write(toFile: folder + "/\(base)-small.yaml", atomically: true, encoding: .utf8)
        return try ProfileLoader.load(folder + "/\(base)-small.yaml")
    }

    /// PROPAGATE with the source weights through all six layers, from block 0's embedding stage, ends exactly
    /// where BertModel's forward pass ends on the same sequences; block 0's CAPTURE writes H of each input space at
    /// its width (the MLP's output space is the intermediate width).
    func testLayerPassesChainToTheEncodersForwardPass() throws {
        let source = try Checkpoint(folder: TestModels.miniLM)
        let tokens = try WordPieceTokenizer.load(folder: TestModels.miniLM).pieceIDs(try String(contentsOfFile: calibrationFile, encoding: .utf8))
        let plan = try JobPlan(source: source, profile: profile("gptq-int4", sequences: 3, length: 40), calibration: (tokens, "README.md"))
        let calibration = try XCTUnwrap(plan.calibration)
        guard case .bert(let shape) = calibration.shape else { return XCTFail("MiniLM planned as \(calibration.shape)") }
        XCTAssertEqual(calibration.blocks.count, 6)
        XCTAssertEqual(calibration.blocks[0].linears.count, 6, "query, key, value, attention output, intermediate, output")
        XCTAssertEqual(calibration.blocks[0].tensors.count, 20, "sixteen layer weights and the embedding stage's four")
        let staging = folder + "/staging", executor = StepExecutor(source: source, stagingFolder: staging, layerPasses: BlockLayerPasses())

        let capture = TaskSpec.captureTask(anchor: calibration.blocks[0].anchor, calibration.layerPass(block: 0, shard: 0, hidden: nil))
        let captured = try executor.execute(capture)
        XCTAssertNoThrow(try ResultValidator.check(captured, against: capture))
        let down = try CalibrationFiles.sumHessians([captured.outputs.first { $0.name.contains("down_in") }!], columns: shape.intermediateSize,
                                                    stagingFolder: staging)
        XCTAssertTrue((0..<shape.intermediateSize).allSatisfy { down[$0 * shape.intermediateSize + $0] >= 0 })

        var hidden: TaskOutputFile?
        for b in 0..<calibration.blocks.count {
            let task = TaskSpec.propagateTask(anchor: calibration.blocks[b].anchor, calibration.layerPass(block: b, shard: 0, hidden: hidden))
            let outcome = try executor.execute(task)
            XCTAssertNoThrow(try ResultValidator.check(outcome, against: task))
            hidden = try XCTUnwrap(outcome.outputs.first)
        }
        let t = calibration.settings.sequenceLength, n = calibration.shards[0].count
        let passes = try CalibrationFiles.readHidden(try XCTUnwrap(hidden), tokens: n, width: shape.hiddenSize, stagingFolder: staging)
        let sequences = stride(from: 0, to: n, by: t).map { Array(calibration.shards[0][$0..<($0 + t)]) }
        let encoder = try BertModel(weights: try openWeights(TestModels.miniLM)).hiddenStates(sequences).flatMap(\.data)
        XCTAssertEqual(passes.count, encoder.count)
        // The same kernels in the same order: the same floats.
        let worst = zip(passes, encoder).map { abs($0 - $1) }.max()!
        XCTAssertEqual(worst, 0, "layer passes and the encoder differ by up to \(worst)")
    }

    /// A BERT layer pass missing a weight of its embedding stage, or with sequences longer than its positions, is
    /// refused naming what is wrong, before it runs.
    func testABertPassWithoutItsEmbeddingStageIsRefused() throws {
        let source = try Checkpoint(folder: TestModels.miniLM)
        let tokens = Array(repeating: 2023, count: 80)
        let plan = try JobPlan(source: source, profile: profile("gptq-int4", sequences: 2, length: 40), calibration: (tokens, "ids"))
        var spec = try XCTUnwrap(plan.calibration).layerPass(block: 0, shard: 0, hidden: nil)
        spec.tensors.removeAll { $0.role == .positionEmbedding }
        let executor = StepExecutor(source: source, stagingFolder: folder + "/staging", layerPasses: BlockLayerPasses())
        XCTAssertThrowsError(try executor.execute(.captureTask(anchor: 0, spec))) {
            XCTAssertTrue("\($0)".contains("position_embedding"), "\($0)")
        }
        spec = try XCTUnwrap(plan.calibration).layerPass(block: 0, shard: 0, hidden: nil)
        guard case .bert(var shape) = spec.shape else { return XCTFail("not a BERT pass") }
        shape.maxPositions = 16
        spec.shape = .bert(shape)
        XCTAssertThrowsError(try executor.execute(.captureTask(anchor: 0, spec))) {
            XCTAssertTrue("\($0)".contains("sequences of 40 tokens, but 16 positions"), "\($0)")
        }
    }

    /// gptq-int3 on 16 sequences of 128 word pieces: 1 and 2 workers write the same bytes, the same bytes per
    /// weight as uniform-int3, and sentence embeddings closer to the source's than uniform-int3's.
    func testGPTQAtThreeBitsKeepsEmbeddingsCloserThanRoundToNearest() throws {
        let gptq = try profile("gptq-int3", sequences: 16, length: 128)
        let text = CalibrationText(file: calibrationFile)
        let one = folder + "/w1", two = folder + "/w2", rtn = folder + "/rtn"
        _ = try CompressionJob.run(JobOptions(model: TestModels.miniLM, out: one, profile: gptq, workers: 1, progress: false, calibration: text))
        _ = try CompressionJob.run(JobOptions(model: TestModels.miniLM, out: two, profile: gptq, workers: 2, progress: false, calibration: text))
        _ = try TestModels.compress(TestModels.miniLM, profile: TestModels.profile("uniform-int3"), workers: 2, out: rtn)
        let a = try TestModels.packageFiles(one), b = try TestModels.packageFiles(two)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (k, v) in a { XCTAssertEqual(v, b[k], "file \(k) differs between --workers 1 and --workers 2") }
        let layer = "/layers/layer_002/weights.quant"
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: one + layer)[.size] as? Int,
                       try FileManager.default.attributesOfItem(atPath: rtn + layer)[.size] as? Int, "the same grid: the same bytes")

        // Held-out sentences: lines of SmolLM2's English eval text, which the README does not contain.
        let lines = try String(contentsOfFile: TestPaths.sharedModels + "/smollm2-135m/eval.txt", encoding: .utf8)
            .split(separator: "\n").map(String.init).filter { $0.split(separator: " ").count >= 6 }.prefix(48)
        let tokenizer = try WordPieceTokenizer.load(folder: TestModels.miniLM)
        let sequences = lines.map { tokenizer.encode($0) }
        func embeddings(_ path: String) throws -> [[Float]] {
            try BertModel(weights: try openWeights(path), pooling: SentencePooling.load(folder: TestModels.miniLM)).embed(sequences)
        }
        let reference = try embeddings(TestModels.miniLM)
        func meanCosine(_ path: String) throws -> Double {
            let e = try embeddings(path)
            return zip(reference, e).map { BertModel.cosine($0, $1) }.reduce(0, +) / Double(e.count)
        }
        let calibrated = try meanCosine(one), nearest = try meanCosine(rtn)
        XCTAssertGreaterThan(calibrated, nearest, "GPTQ int3 mean cosine \(calibrated), round to nearest \(nearest)")
    }
}
