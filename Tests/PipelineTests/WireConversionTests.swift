import Foundation
import XCTest
import Engine
@testable import Coordinator
@testable import Pipeline
import UQCITProtocol

/// Every task kind and result survives Swift -> protobuf bytes -> Swift unchanged, and malformed typed messages
/// are refused with an error naming the field.
final class WireConversionTests: XCTestCase {
    let tensor = CheckpointTensor(shard: "model-00001-of-00002.safetensors",
                                  entry: TensorEntry(name: "model.layers.0.mlp.down_proj.weight", dtype: .bf16, shape: [64, 128], begin: 1024, end: 1024 + 64 * 128 * 2))
    var policy: LevelPolicy {
        var p = LevelPolicy(pattern: "10-90", high: .int8, low: .int3, highFraction: 0.1, highGroupSize: 64, lowGroupSize: 32,
                            compensationRank: 4, symmetricLow: true, allocation: "random")
        p.ggmlCodes = .reference
        return p
    }
    let analysis = AnalysisResult(rotation: RotationDescriptor(size: 128, seed: 0xDEAD_BEEF_CAFE),
                                  invariants: RotationInvariants(maxAbsGGPlusI: 1e-7, maxRowNormRelError: 2e-7, topSingularValueRelError: 3e-7),
                                  seedTrials: [SeedTrial(seed: 1, relativeError: 0.5), SeedTrial(seed: 2, relativeError: 0.25)],
                                  unrotatedError: 0.75, highColumns: [3, 17, 90], elementThreshold: 0.125, clusters: [[1, 2], [5, 9, 11]],
                                  promotedColumns: 1, plannedHighFraction: 0.1, realisedHighFraction: 0.1015625)

    func tasks() -> [TaskSpec] {
        let quantize = QuantizeSpec(tensor: tensor, policy: policy, granularity: .channel, analysis: analysis, rowStart: 32, rowCount: 16)
        var layout = QuantizedTensorLayout(spec: quantize)
        layout.sparseFormat = .int8
        layout.ggml = .q4_K
        return [
            .analyzeTask(7, AnalyzeSpec(tensor: tensor, policy: policy, granularity: .element,
                                        rotation: RotationSettings(enabled: true, seedCandidates: 8, sampleRows: 256),
                                        clusters: ClusterSettings(enabled: true, threshold: 0.9, sampleRows: 128), tileRows: 16)),
            .quantizeTask(7, tile: 2, quantize),
            .compensateTask(7, CompensateSpec(tensor: tensor, rank: 4, tileRows: 16, layout: layout)),
            .measureTask(7, MeasureSpec(tensor: tensor, candidates: [policy, .ggml(.q6_K, codes: .search), .ggml(.iq4_xs)], rotation: true, sampleRows: 64)),
            .quantizeTask(7, tile: 3, QuantizeSpec(tensor: tensor, policy: policy, granularity: .channel, analysis: analysis, rowStart: 48, rowCount: 16,
                                                   hessian: HessianInput(space: .mlpOutput, shards: [file(1), file(2)], rounding: .diagonalImportance, damping: 0.01, blockSize: 128, actOrder: true))),
            .captureTask(anchor: 7, layerPass(layer: 0, staged: nil)),
            .propagateTask(anchor: 7, layerPass(layer: 2, staged: StagedTensor(layout: layout, tileRows: 16, tiles: [file(3), file(4)]))),
            .quantizeTask(7, tile: 1, QuantizeSpec(tensor: tensor, policy: .ggml(.q4_0), granularity: .channel, analysis: analysis,
                                                   rowStart: 16, rowCount: 16, columnImportance: (0..<128).map { Float($0) / 8 })),
            .measureTask(7, MeasureSpec(tensor: tensor, candidates: [policy], rotation: false, sampleRows: 64,
                                        hessian: HessianInput(space: .attentionInput, shards: [file(5)], rounding: .gptq, damping: 0.01, blockSize: 128, actOrder: false))),
            .captureTask(anchor: 7, layerPass(layer: 0, staged: nil, bert: true)),
        ]
    }

    func file(_ k: UInt8) -> TaskOutputFile {
        TaskOutputFile(name: "calibration/layer_1/h_down_in_\(k).st", size: 100 + Int(k), sha256: Digest.hex([UInt8](repeating: k, count: 32)))
    }

    /// Block 0 embeds two sequences of 3 tokens; a later block reads its staged input instead. A Llama block, or a
    /// BERT layer with its embedding stage.
    func layerPass(layer: Int, staged: StagedTensor?, bert: Bool = false) -> LayerPassSpec {
        let shape: BlockShape = bert
            ? .bert(BertBlockShape(hiddenSize: 128, intermediateSize: 64, heads: 4, layerNormEps: 1e-12, activation: "gelu", maxPositions: 512))
            : .llama(LlamaBlockShape(hiddenSize: 128, intermediateSize: 64, heads: 4, kvHeads: 2, headDim: 32, rmsNormEps: 1e-5,
                                     inverseFrequencies: (0..<16).map { 1 / pow(10000, Double(2 * $0) / 32) }))
        let tensors = [BlockTensor(role: .down, tensor: tensor, staged: staged), BlockTensor(role: bert ? .embeddingNormBias : .qBias, tensor: tensor)]
        return LayerPassSpec(layer: layer, shard: 1, shape: shape, tensors: tensors, sequences: 2, sequenceLength: 3,
                             embedding: layer == 0 ? tensor : nil, tokens: layer == 0 ? [1, 2, 3, 250, 0, 7] : [],
                             hidden: layer == 0 ? nil : file(9))
    }

    func outcomes() -> [TaskOutcome] {
        let file = TaskOutputFile(name: StagingNames.tile(7, 2), size: 4321, sha256: Digest.hex([UInt8](repeating: 0x5A, count: 32)))
        return [
            TaskOutcome(taskId: "A7", analysis: analysis, outputs: [], seconds: 0.5),
            TaskOutcome(taskId: "Q7.2", tile: TileResult(sourceSumSquares: 12.5, errorSumSquares: 0.125, maxAbsError: 0.03125, highElements: 48, elements: 2048),
                        outputs: [file], seconds: 1.25),
            TaskOutcome(taskId: "C7", compensation: CompensationResult(rank: 4, sourceSumSquares: 100, errorSumSquaresBefore: 2, errorSumSquaresAfter: 1),
                        outputs: [TaskOutputFile(name: StagingNames.lowRank(7), size: 99, sha256: Digest.sha256Hex(Array("x".utf8)))], seconds: 2),
            TaskOutcome(taskId: "M7", measurements: [CandidateMeasurement(policy: policy, bytes: 5000, relativeError: 0.01),
                                                    CandidateMeasurement(policy: .ggml(.q2_K), bytes: 3000, relativeError: 0.1)],
                        outputs: [], seconds: 0),
            TaskOutcome(taskId: "M8", measurements: [], outputs: [], seconds: 0),
            TaskOutcome(taskId: "K0.1", layerPass: LayerPassResult(tokens: 6), outputs: [self.file(5), self.file(6)], seconds: 3),
        ]
    }

    func testEveryTaskKindRoundTripsThroughProtobufBytes() throws {
        for task in tasks() {
            let bytes = try Uqcit_V2_TaskAssignment(task, attempt: 3).serializedBytes() as [UInt8]
            let read = try Uqcit_V2_TaskAssignment(serializedBytes: bytes)
            XCTAssertEqual(read.attempt, 3)
            XCTAssertEqual(try TaskSpec(wire: read), task, task.id)
        }
    }

    func testEveryResultRoundTripsThroughProtobufBytes() throws {
        for outcome in outcomes() {
            let bytes = try Uqcit_V2_TaskResult(outcome, attempt: 2).serializedBytes() as [UInt8]
            XCTAssertEqual(try TaskOutcome(wire: Uqcit_V2_TaskResult(serializedBytes: bytes)), outcome, outcome.taskId)
        }
    }

    func testMalformedAssignmentsNameTheField() {
        let quantize = Uqcit_V2_TaskAssignment(tasks()[1], attempt: 1)
        assertRefused(quantize, "TaskAssignment.task") { $0.task = nil }
        assertRefused(quantize, "TaskAssignment.task_id") { $0.taskID = "" }
        assertRefused(quantize, "TaskAssignment.quantize.tensor") { $0.quantize.clearTensor() }
        assertRefused(quantize, "TaskAssignment.quantize.analysis") { $0.quantize.clearAnalysis() }
        assertRefused(quantize, "TaskAssignment.quantize.analysis.rotation") { $0.quantize.analysis.clearRotation() }
        assertRefused(quantize, "TaskAssignment.quantize.tensor.dtype") { $0.quantize.tensor.dtype = "F12" }
        assertRefused(quantize, "TaskAssignment.quantize.tensor.end") { $0.quantize.tensor.end = 0 }
        assertRefused(quantize, "TaskAssignment.quantize.tensor.shape[1]") { $0.quantize.tensor.shape[1] = UInt64.max }
        assertRefused(quantize, "TaskAssignment.quantize.granularity") { $0.quantize.granularity = .unspecified }
        assertRefused(quantize, "TaskAssignment.quantize.granularity") { $0.quantize.granularity = .UNRECOGNIZED(9) }
        assertRefused(quantize, "TaskAssignment.quantize.policy.low") { $0.quantize.policy.low = .UNRECOGNIZED(42) }
        assertRefused(quantize, "TaskAssignment.quantize.policy.ggml_type") { $0.quantize.policy.ggmlType = 4 }
        assertRefused(quantize, "TaskAssignment.quantize.policy.ggml_codes") { $0.quantize.policy.ggmlCodes = .UNRECOGNIZED(3) }
        assertRefused(quantize, "TaskAssignment.quantize.policy.high_fraction") { $0.quantize.policy.highFraction = 1.5 }
        assertRefused(quantize, "TaskAssignment.quantize.row_count") { $0.quantize.rowCount = 0 }
        let compensate = Uqcit_V2_TaskAssignment(tasks()[2], attempt: 1)
        assertRefused(compensate, "TaskAssignment.compensate.layout") { $0.compensate.clearLayout() }
        assertRefused(compensate, "TaskAssignment.compensate.layout.low.format") { $0.compensate.layout.low.format = .unspecified }
        assertRefused(compensate, "TaskAssignment.compensate.layout.sparse_format") { $0.compensate.layout.sparseFormat = .UNRECOGNIZED(77) }
        let weighted = Uqcit_V2_TaskAssignment(tasks()[7], attempt: 1)
        let importance = "TaskAssignment.quantize.column_importance"
        assertRefused(weighted, importance) { $0.quantize.columnImportance.removeLast() }
        assertRefused(weighted, importance) { $0.quantize.columnImportance[5] = -1 }
        assertRefused(weighted, importance) { $0.quantize.columnImportance[9] = .nan }
        assertRefused(quantize, importance) { $0.quantize.columnImportance = [Float](repeating: 1, count: 128) }
        let measure = Uqcit_V2_TaskAssignment(tasks()[3], attempt: 1)
        assertRefused(measure, "TaskAssignment.measure.candidates") { $0.measure.candidates = [] }
        assertRefused(measure, "TaskAssignment.measure.candidates[1].pattern") { $0.measure.candidates[1].pattern = "" }
        let measured = Uqcit_V2_TaskAssignment(tasks()[8], attempt: 1)
        assertRefused(measured, "TaskAssignment.measure.rotation") { $0.measure.rotation = true }
        assertRefused(measured, "TaskAssignment.measure.hessian.shards") { $0.measure.hessian.shards = [] }
        let calibrated = Uqcit_V2_TaskAssignment(tasks()[4], attempt: 1)
        assertRefused(calibrated, "TaskAssignment.quantize.hessian.space") { $0.quantize.hessian.space = .unspecified }
        assertRefused(calibrated, "TaskAssignment.quantize.hessian.shards") { $0.quantize.hessian.shards = [] }
        assertRefused(calibrated, "TaskAssignment.quantize.hessian.shards[1].sha256") { $0.quantize.hessian.shards[1].sha256 = Data() }
        assertRefused(calibrated, "TaskAssignment.quantize.hessian.damping") { $0.quantize.hessian.damping = -.infinity }
        assertRefused(calibrated, "TaskAssignment.quantize.hessian.block_size") { $0.quantize.hessian.blockSize = 0 }
        let capture = Uqcit_V2_TaskAssignment(tasks()[5], attempt: 1)
        assertRefused(capture, "TaskAssignment.capture.shape") { $0.capture.blockShape = nil }
        assertRefused(capture, "TaskAssignment.capture.shape") { $0.capture.shape.kvHeads = 3 }
        assertRefused(capture, "TaskAssignment.capture.shape") { $0.capture.shape.inverseFrequencies.removeLast() }
        assertRefused(capture, "TaskAssignment.capture.tensors[1].role") { $0.capture.tensors[1].role = .UNRECOGNIZED(24) }
        let bertCapture = Uqcit_V2_TaskAssignment(tasks()[9], attempt: 1)
        assertRefused(bertCapture, "TaskAssignment.capture.bert_shape") { $0.capture.bertShape.heads = 3 }
        assertRefused(bertCapture, "TaskAssignment.capture.bert_shape") { $0.capture.bertShape.activation = "swish" }
        assertRefused(bertCapture, "TaskAssignment.capture.bert_shape.max_positions") { $0.capture.bertShape.maxPositions = .max }
        assertRefused(capture, "TaskAssignment.capture.tensors[0].tensor") { $0.capture.tensors[0].clearTensor() }
        assertRefused(capture, "TaskAssignment.capture.sequences") { $0.capture.sequences = 0 }
        assertRefused(capture, "TaskAssignment.capture") { $0.capture.tokens.removeLast() }
        assertRefused(capture, "TaskAssignment.capture") { $0.capture.hidden = .init(self.file(1)) }
        let propagate = Uqcit_V2_TaskAssignment(tasks()[6], attempt: 1)
        assertRefused(propagate, "TaskAssignment.propagate") { $0.propagate.clearHidden() }
        assertRefused(propagate, "TaskAssignment.propagate.tensors[0].staged.layout") { $0.propagate.tensors[0].staged.clearLayout() }
        assertRefused(propagate, "TaskAssignment.propagate.tensors[0].staged.tiles[1].name") { $0.propagate.tensors[0].staged.tiles[1].name = "" }
    }

    func testMalformedResultsNameTheField() {
        let tile = Uqcit_V2_TaskResult(outcomes()[1], attempt: 1)
        assertRefused(tile, "TaskResult.result") { $0.result = nil }
        assertRefused(tile, "TaskResult.outputs[0].sha256") { $0.outputs[0].sha256 = Data(repeating: 1, count: 31) }
        assertRefused(tile, "TaskResult.outputs[0].name") { $0.outputs[0].name = "" }
        assertRefused(tile, "TaskResult.tile.elements") { $0.tile.elements = UInt64.max }
        let analysis = Uqcit_V2_TaskResult(outcomes()[0], attempt: 1)
        assertRefused(analysis, "TaskResult.analysis.rotation") { $0.analysis.clearRotation() }
        assertRefused(analysis, "TaskResult.analysis.clusters[1].columns[0]") { $0.analysis.clusters[1].columns[0] = UInt64(Int.max) + 1 }
        let measure = Uqcit_V2_TaskResult(outcomes()[3], attempt: 1)
        assertRefused(measure, "TaskResult.measurement.candidates[0].policy") { $0.measurement.candidates[0].clearPolicy() }
        let layerPass = Uqcit_V2_TaskResult(outcomes()[5], attempt: 1)
        assertRefused(layerPass, "TaskResult.layer_pass.tokens") { $0.layerPass.tokens = UInt64.max }
    }

    /// A result of another kind than the leased task decodes, and the validator refuses it for its kind.
    func testResultOfAnotherKindIsRefused() throws {
        let tileForAnalyze = try TaskOutcome(wire: Uqcit_V2_TaskResult(outcomes()[1], attempt: 1))
        var analyze = tasks()[0]
        analyze.id = tileForAnalyze.taskId
        XCTAssertThrowsError(try ResultValidator.check(tileForAnalyze, against: analyze)) {
            XCTAssertTrue("\($0)".contains("ANALYZE result without its analysis"), "\($0)")
        }
    }

    private func assertRefused(_ valid: Uqcit_V2_TaskAssignment, _ field: String, line: UInt = #line, _ breakIt: (inout Uqcit_V2_TaskAssignment) -> Void) {
        var m = valid
        breakIt(&m)
        XCTAssertThrowsError(try TaskSpec(wire: Uqcit_V2_TaskAssignment(serializedBytes: m.serializedBytes() as [UInt8])), line: line) {
            XCTAssertEqual(($0 as? WireFormatError)?.field, field, "\($0)", line: line)
        }
    }

    private func assertRefused(_ valid: Uqcit_V2_TaskResult, _ field: String, line: UInt = #line, _ breakIt: (inout Uqcit_V2_TaskResult) -> Void) {
        var m = valid
        breakIt(&m)
        XCTAssertThrowsError(try TaskOutcome(wire: Uqcit_V2_TaskResult(serializedBytes: m.serializedBytes() as [UInt8])), line: line) {
            XCTAssertEqual(($0 as? WireFormatError)?.field, field, "\($0)", line: line)
        }
    }
}
