import XCTest
import Foundation
@testable import Engine
@testable import Pipeline
@testable import Coordinator
import Runtime
import TestSupport

/// Calibrated jobs (gptq-int3) on the real tiny-llama: determinism over worker counts, quality against round to
/// nearest on the same grid, and the refusals around the calibration text.
final class CalibratedJobTests: XCTestCase {
    private var folder = ""
    override func setUp() { folder = TestModels.temporaryFolder("calibrated") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// Python text disjoint from tiny-llama's eval.txt (the repository's own scripts), and gptq-int3 with a
    /// small calibration set: 16 sequences of 256 bytes in 4 shards.
    private func calibrated(_ base: String = "gptq-int3") throws -> (profile: Profile, text: CalibrationText) {
        let scripts = try FileManager.default.contentsOfDirectory(atPath: TestPaths.repoRoot + "/scripts").filter { $0.hasSuffix(".py") }.sorted()
        var text = Data()
        for s in scripts { text += FileManager.default.contents(atPath: TestPaths.repoRoot + "/scripts/" + s)! }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try text.write(to: URL(fileURLWithPath: folder + "/calibration.txt"))
        let yaml = """
            inherits: \(TestPaths.profilePath(base))
            calibration: {sequence_length: 256, sequences: 16, shard_sequences: 4, damping: 0.01, block_size: 128, act_order: true}
            """
        try yaml.write(toFile: folder + "/small.yaml", atomically: true, encoding: .utf8)
        return (try ProfileLoader.load(folder + "/small.yaml"), CalibrationText(file: folder + "/calibration.txt"))
    }

    private func compress(_ profile: Profile, _ text: CalibrationText?, workers: Int, out: String, storage: StorageMode = .shared) throws -> JobSummary {
        var cluster = ClusterOptions()
        cluster.storage = storage
        return try CompressionJob.run(JobOptions(model: TestModels.tinyLlama, out: out, profile: profile, workers: workers, progress: false,
                                                 cluster: cluster, calibration: text))
    }

    private func perplexity(_ package: String, windows: [[Int]]) throws -> Double {
        try CausalLMEvaluator.evaluate(model: try LlamaModel(weights: try openWeights(package)), windows: windows).perplexity
    }

    func testOneAndTwoWorkersWriteTheSameBytesAndGPTQBeatsRoundToNearestAtThreeBits() throws {
        let (profile, text) = try calibrated()
        let one = folder + "/w1", two = folder + "/w2", rtn = folder + "/rtn"
        let summary = try compress(profile, text, workers: 1, out: one)
        _ = try compress(profile, text, workers: 2, out: two)
        // 4 blocks x 4 shards of CAPTURE, 3 x 4 of PROPAGATE, besides the per-tensor tasks.
        XCTAssertEqual(summary.tasks, try JobPlan(checkpoint: Checkpoint(folder: TestModels.tinyLlama), profile: TestModels.profile("uniform-int3")).taskCount + 28)
        // Stream storage: activations, H shards and staged tiles travel to the workers as chunks, outputs back.
        let streamed = folder + "/stream"
        _ = try compress(profile, text, workers: 2, out: streamed, storage: .stream)
        let a = try TestModels.packageFiles(one), b = try TestModels.packageFiles(two), c = try TestModels.packageFiles(streamed)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertEqual(Set(a.keys), Set(c.keys))
        for (k, v) in a {
            XCTAssertEqual(v, b[k], "file \(k) differs between --workers 1 and --workers 2")
            XCTAssertEqual(v, c[k], "file \(k) differs between shared and stream storage")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: one + "/.uqcit/staging"), "activations and H removed with the staging folder")

        _ = try compress(TestModels.profile("uniform-int3"), nil, workers: 2, out: rtn)
        let gptqBytes = try FileManager.default.attributesOfItem(atPath: one + "/layers/layer_001/weights.quant")[.size] as! Int
        let rtnBytes = try FileManager.default.attributesOfItem(atPath: rtn + "/layers/layer_001/weights.quant")[.size] as! Int
        XCTAssertEqual(gptqBytes, rtnBytes, "the same grid: the same bytes per weight")

        let tokens = try EvalTokens.load(file: TestModels.tinyLlama + "/eval.txt", vocabSize: 256)
        let windows = EvalTokens.windows(tokens, window: 512, maxWindows: 16)
        let source = try perplexity(TestModels.tinyLlama, windows: windows)
        let gptq = try perplexity(one, windows: windows), nearest = try perplexity(rtn, windows: windows)
        XCTAssertLessThan(gptq - source, (nearest - source) * 0.5,
                          "GPTQ int3 rises \(gptq - source) over bf16 \(source), round to nearest \(nearest - source)")
    }

    /// A GGUF profile with --calibration: GPTQ inside the ggml grids (GGMLGPTQ), the same types and bytes as
    /// the data-free job, a smaller rise over bf16, the same package from one worker and two.
    /// gptq-auto: as each block's H come in, its linears are measured against them and allocated to the budget,
    /// so the package meets it with mixed widths, the allocation is recorded in the package's profile, and one and
    /// two workers write the same bytes.
    func testCalibratedAutoAllocatesEveryBlockToTheBudget() throws {
        var (profile, text) = try calibrated("gptq-auto")
        profile.calibration?.actOrder = false
        var packages: [[String: Data]] = []
        for workers in [1, 2] {
            let out = folder + "/auto-\(workers)"
            let s = try CompressionJob.run(JobOptions(model: TestModels.tinyLlama, out: out, profile: profile, workers: workers, progress: false,
                                                      allocation: AutoProfile.blockAllocation(targetBitsPerWeight: 3.0), calibration: text))
            let bits = s.metadata.measured.bitsPerWeightQuantizedTensors
            XCTAssertLessThanOrEqual(bits, 3.0)
            XCTAssertGreaterThan(bits, 2.75, "the budget is spent")
            let chosen = Set(s.metadata.measured.levels.values.flatMap(\.patterns))
            XCTAssertGreaterThan(chosen.count, 1, "widths mixed: \(chosen)")
            XCTAssertEqual(s.metadata.profile.settings.overrides?.count, 28, "every block linear allocated")
            packages.append(try TestModels.packageFiles(out))
        }
        XCTAssertEqual(Set(packages[0].keys), Set(packages[1].keys))
        for (k, v) in packages[0] { XCTAssertEqual(v, packages[1][k], "file \(k) differs between --workers 1 and --workers 2") }
    }

    /// gguf-auto: the same block-by-block allocation over ggml types, exported as a GGUF file whose block linears
    /// carry several k-quant types and whose tensors meet the target over the whole file.
    func testCalibratedAutoOverGGMLTypesExportsAMixedGGUF() throws {
        var (profile, text) = try calibrated("gguf-auto")
        profile.calibration?.actOrder = false
        let out = folder + "/gguf-auto"
        _ = try CompressionJob.run(JobOptions(model: TestModels.tinyLlama, out: out, profile: profile, workers: 2, progress: false,
                                              allocation: AutoProfile.blockAllocation(targetBitsPerWeight: 3.5), calibration: text))
        _ = try GGUFExporter.export(try PackageReader(path: out), to: folder + "/auto.gguf")
        let file = try GGUFFile(path: folder + "/auto.gguf")
        let linears = file.tensors.filter { $0.name.hasPrefix("blk.") && $0.type.isQuantized }
        let types = Set(linears.map(\.type))
        XCTAssertGreaterThan(types.count, 1, "\(types)")
        XCTAssertTrue(types.isSubset(of: [.q2_K, .q3_K, .iq4_xs, .q4_K, .q5_K, .q6_K, .q8_0]), "\(types)")
        // The target is the file's, as without calibration: the block linears get what embeddings and head (Q6_K,
        // outside the choice) and the F32 norms leave of it.
        let bits = Double(file.tensors.reduce(0) { $0 + $1.byteCount } * 8) / Double(file.tensors.reduce(0) { $0 + $1.elementCount })
        XCTAssertLessThanOrEqual(bits, 3.5)
        XCTAssertGreaterThan(bits, 3.5 * 0.98, "the budget is spent")
        XCTAssertEqual(file.tensors.first { $0.name == "token_embd.weight" }?.type, .q6_K)
    }

    /// A file target the block linears cannot meet once embeddings, head and norms have their bytes is refused
    /// saying both numbers.
    func testCalibratedAutoBelowWhatTheFixedTensorsLeaveIsRefusedWithBothTargets() throws {
        var (profile, text) = try calibrated("gguf-auto")
        profile.calibration?.actOrder = false
        XCTAssertThrowsError(try CompressionJob.run(JobOptions(model: TestModels.tinyLlama, out: folder + "/too-low", profile: profile, workers: 2,
                                                               progress: false, allocation: AutoProfile.blockAllocation(targetBitsPerWeight: 0.5),
                                                               calibration: text))) {
            XCTAssertTrue("\($0)".contains("share of 0.500 over the GGUF file"), "\($0)")
        }
    }

    /// gguf-auto without calibration text: the whole-model allocation from weight error, over the same ggml
    /// types, exported as a mixed GGUF whose tensors meet the target within 1% (the target counts the file's
    /// tensor bytes, as llama-quantize's mixes are compared, not the package's).
    func testDataFreeAutoOverGGMLTypesExportsAMixedGGUF() throws {
        let out = folder + "/gguf-auto-data-free"
        _ = try CompressionJob.run(JobOptions(model: TestModels.tinyLlama, out: out, profile: TestModels.profile("gguf-auto"), workers: 2,
                                              progress: false, allocation: AutoProfile.allocation(targetBitsPerWeight: 4.5)))
        _ = try GGUFExporter.export(try PackageReader(path: out), to: folder + "/data-free-auto.gguf")
        let file = try GGUFFile(path: folder + "/data-free-auto.gguf")
        let bits = Double(file.tensors.reduce(0) { $0 + $1.byteCount } * 8) / Double(file.tensors.reduce(0) { $0 + $1.rows * $1.columns })
        XCTAssertLessThanOrEqual(bits, 4.5)
        XCTAssertGreaterThan(bits, 4.5 * 0.99, "the budget is the file's tensor bytes, spent to within 1%")
        let types = Set(file.tensors.filter { $0.name.hasPrefix("blk.") && $0.type.isQuantized }.map(\.type))
        XCTAssertGreaterThan(types.count, 1, "\(types)")
        XCTAssertEqual(file.tensors.first { $0.name == "token_embd.weight" }?.type, .q6_K, "embeddings in the profile's fixed type")
    }

    /// SmolLM2's 576-wide rows take no k-quant: gguf-auto offers llama-quantize's 32-weight fall-backs instead.
    func testGGMLCandidatesThatDoNotTileARowTakeLlamaQuantizesFallBacks() throws {
        let source = try ModelSources.open(TestPaths.sharedModels + "/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")
        let plan = try JobPlan(source: source, profile: TestModels.profile("gguf-auto"))
        let menu = { (name: String) in plan.candidates(for: plan.assignments.firstIndex { $0.name == name }!).map { $0.ggml! } }
        // 576 columns: no k-quant tiles them, so each takes the 32-weight type llama-quantize falls back to, once.
        XCTAssertEqual(menu("model.layers.0.self_attn.q_proj.weight"), [.q4_0, .iq4_nl, .q5_0, .q5_1, .q8_0])
        // 1536 columns: whole 256-weight blocks, the profile's own candidates.
        XCTAssertEqual(menu("model.layers.0.mlp.down_proj.weight"), [.q2_K, .q3_K, .iq4_xs, .q4_K, .q5_K, .q6_K, .q8_0])
        XCTAssertEqual(plan.measureSpec(plan.assignments.firstIndex { $0.name == "model.layers.0.self_attn.q_proj.weight" }!).candidates.count, 5)
        // The tied embedding keeps the profile's fixed Q6_K, which falls back to Q8_0 here, and is not chosen for.
        XCTAssertEqual(menu("model.embed_tokens.weight"), [.q8_0])
        // A row not even 32-weight blocks tile is refused by tensor.
        XCTAssertEqual(JobPlan.candidates([.ggml(.q4_K)], columns: 40), [.ggml(.q4_K)])
        XCTAssertEqual(JobPlan.candidates([.ggml(.q4_K), .ggml(.q6_K)], columns: 96), [.ggml(.q5_0), .ggml(.q8_0)])
    }

    func testGGUFProfileWithCalibrationRoundsByGPTQInItsGrid() throws {
        let (_, text) = try calibrated()
        let small = CalibrationText(file: text.file, maxTokens: 4096)   // 8 sequences of 512, one shard
        let profile = try TestModels.profile("gguf-q2_k")
        let one = folder + "/w1", two = folder + "/w2", plain = folder + "/plain"
        _ = try compress(profile, small, workers: 1, out: one)
        _ = try compress(profile, small, workers: 2, out: two)
        _ = try compress(profile, nil, workers: 2, out: plain)
        let a = try TestModels.packageFiles(one), b = try TestModels.packageFiles(two)
        for (k, v) in a { XCTAssertEqual(v, b[k], "file \(k) differs between --workers 1 and --workers 2") }
        for layer in ["layer_000", "layer_003"] {
            let size = { (p: String) in try FileManager.default.attributesOfItem(atPath: p + "/layers/\(layer)/weights.quant")[.size] as! Int }
            XCTAssertEqual(try size(one), try size(plain), "the same ggml types: the same bytes")
        }
        let tokens = try EvalTokens.load(file: TestModels.tinyLlama + "/eval.txt", vocabSize: 256)
        let windows = EvalTokens.windows(tokens, window: 512, maxWindows: 16)
        let source = try perplexity(TestModels.tinyLlama, windows: windows)
        let gptq = try perplexity(one, windows: windows), searched = try perplexity(plain, windows: windows)
        XCTAssertLessThan(gptq - source, (searched - source) * 0.9,
                          "Q2_K with GPTQ rises \(gptq - source) over bf16 \(source), without calibration \(searched - source)")
    }

    func testOtherCalibrationTextOnTheSameOutputIsRefused() throws {
        let (profile, text) = try calibrated()
        let out = folder + "/job"
        _ = try compress(profile, CalibrationText(file: text.file, maxTokens: 2048), workers: 2, out: out)
        XCTAssertThrowsError(try compress(profile, text, workers: 2, out: out)) { error in
            XCTAssertTrue("\(error)".contains("different calibration text"), "\(error)")
        }
        XCTAssertEqual(try compress(profile, CalibrationText(file: text.file, maxTokens: 2048), workers: 1, out: out).alreadyComplete, true)
    }

    func testCalibrationIsRequiredByGPTQProfilesOnly() throws {
        let (profile, text) = try calibrated()
        XCTAssertThrowsError(try compress(profile, nil, workers: 1, out: folder + "/none")) { error in
            XCTAssertTrue("\(error)".contains("is calibrated: give it text with --calibration FILE"), "\(error)")
        }
        XCTAssertThrowsError(try compress(TestModels.profile("uniform-int3"), text, workers: 1, out: folder + "/rtn")) { error in
            XCTAssertTrue("\(error)".contains("--calibration applies to a calibrated profile"), "\(error)")
        }
        XCTAssertThrowsError(try CompressionJob.run(JobOptions(model: TestModels.tinyLlama, out: folder + "/both", profile: TestModels.profile("gguf-q2_k"),
                                                               workers: 1, progress: false, importanceMatrix: ImportanceMatrix(path: GGUFExportTests.importanceMatrix),
                                                               calibration: text))) { error in
            XCTAssertTrue("\(error)".contains("give one"), "\(error)")
        }
        XCTAssertThrowsError(try compress(profile, CalibrationText(file: text.file, maxTokens: 100), workers: 1, out: folder + "/short")) { error in
            XCTAssertTrue("\(error)".contains("100 calibration tokens, fewer than one sequence of 256"), "\(error)")
        }
        XCTAssertThrowsError(try compress(profile, CalibrationText(file: folder + "/missing.txt"), workers: 1, out: folder + "/missing")) { error in
            XCTAssertTrue("\(error)".contains("missing.txt: cannot read the calibration text"), "\(error)")
        }
    }
}
