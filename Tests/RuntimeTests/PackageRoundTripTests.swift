import XCTest
import Foundation
@testable import Engine
@testable import Coordinator
@testable import Runtime

/// Compress tiny-llama, run the runtime straight from the package, and validate it.
final class PackageRoundTripTests: XCTestCase {
    override func setUp() { RuntimeThreads.configure() }

    func testUniformInt4PackageRunsCloseToTheOriginalAndValidateWritesItsFiles() throws {
        try RuntimeTestPaths.requireModel(RuntimeTestPaths.tinyLlama)
        let pkg = RuntimeTestPaths.temporaryFolder("u4")
        defer { try? FileManager.default.removeItem(atPath: pkg) }
        _ = try CompressionJob.run(JobOptions(model: RuntimeTestPaths.tinyLlama, out: pkg, profile: RuntimeTestPaths.profile("uniform-int4"),
                                              workers: 2, progress: false))

        // The package's weights are the reconstruction, not the source.
        let packaged = try PackageWeights(path: pkg), source = try CheckpointWeights(folder: RuntimeTestPaths.tinyLlama)
        let name = "model.layers.0.mlp.down_proj.weight"
        XCTAssertEqual(packaged.shape(of: name), source.shape(of: name))
        XCTAssertNotEqual(try packaged.rows(name, start: 0, count: 1), try source.rows(name, start: 0, count: 1))

        let bytes = try EvalTokens.load(file: RuntimeTestPaths.tinyLlama + "/eval.txt", vocabSize: 256)
        let windows = EvalTokens.windows(bytes, window: 512, maxWindows: 8)
        let q = try LlamaModel(weights: packaged), o = try LlamaModel(weights: source)
        let r = try CausalLMEvaluator.evaluate(model: q, reference: o, windows: windows)
        let ref = try XCTUnwrap(r.reference)
        XCTAssertEqual(ref.perplexity, 4.72786307210558, accuracy: 0.005)
        XCTAssertLessThan(abs(r.perplexity / ref.perplexity - 1), 0.03, "int4 g128 changes the perplexity by a few percent at most")
        XCTAssertNotEqual(r.perplexity, ref.perplexity)
        XCTAssertGreaterThan(ref.meanKL, 0)
        XCTAssertLessThan(ref.meanKL, 0.05)
        XCTAssertGreaterThan(ref.top1Agreement, 0.9)

        let v = try Validator.run(ValidationOptions(package: pkg, reference: RuntimeTestPaths.tinyLlama, maxWindows: 2))
        for f in ["perplexity.json", "benchmarks.json", "noise_profile.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: pkg + "/validation/" + f), f)
            XCTAssertFalse(FileManager.default.fileExists(atPath: pkg + "/validation/" + f + AtomicFileWriter.temporarySuffix))
        }
        XCTAssertTrue(v.perplexity.referenceMatchesPackageSource)
        let c = try XCTUnwrap(v.perplexity.causal)
        XCTAssertEqual(c.result.windows, 2)
        XCTAssertEqual(c.result.scoredTokens, 2 * 511)
        let written = try PackageJSON.decode(PerplexityReport.self, from: Array(FileManager.default.contents(atPath: pkg + "/validation/perplexity.json")!))
        XCTAssertEqual(written.causal?.result.perplexity, c.result.perplexity)
        let bench = try PackageJSON.decode(BenchmarksReport.self, from: Array(FileManager.default.contents(atPath: pkg + "/validation/benchmarks.json")!))
        XCTAssertEqual(Set(bench.levels.keys), Set(packaged.reader.metadata.measured.levels.keys))
        XCTAssertLessThanOrEqual(bench.bitsPerWeightQuantizedTensors, 4.125 + 1e-9)
        let noise = try NoiseProfile.load(package: pkg)
        XCTAssertEqual(noise.tensors.count, packaged.reader.metadata.measured.tensors)
        XCTAssertGreaterThan(noise.relativeError(of: name) ?? 0, 0)
    }

    /// MiniLM straight from a package: the same embeddings as from the package's export (the exporter writes the
    /// same reconstruction), close to but not equal to the original's, and validate reports embedding cosine.
    func testMiniLMPackageEmbeddingsAndValidate() throws {
        try RuntimeTestPaths.requireModel(RuntimeTestPaths.miniLM)
        let pkg = RuntimeTestPaths.temporaryFolder("minilm"), ex = RuntimeTestPaths.temporaryFolder("minilm-export")
        defer { try? FileManager.default.removeItem(atPath: pkg); try? FileManager.default.removeItem(atPath: ex) }
        _ = try CompressionJob.run(JobOptions(model: RuntimeTestPaths.miniLM, out: pkg, profile: RuntimeTestPaths.profile("uniform-int4"),
                                              workers: 2, progress: false))
        try Exporter.export(PackageReader(path: pkg), to: ex)
        let pooling = SentencePooling.load(folder: RuntimeTestPaths.miniLM)
        let tokenizer = try WordPieceTokenizer.load(folder: pkg + "/tokenizer")
        let ids = Validator.builtInSentences.prefix(3).map(tokenizer.encode)
        let fromPackage = try BertModel(weights: PackageWeights(path: pkg), pooling: pooling).embed(Array(ids))
        let fromExport = try BertModel(weights: CheckpointWeights(folder: ex), pooling: pooling).embed(Array(ids))
        let original = try BertModel(weights: CheckpointWeights(folder: RuntimeTestPaths.miniLM), pooling: pooling).embed(Array(ids))
        for i in 0..<ids.count {
            XCTAssertGreaterThan(BertModel.cosine(fromPackage[i], fromExport[i]), 0.999999)
            let c = BertModel.cosine(fromPackage[i], original[i])
            XCTAssertGreaterThan(c, 0.9)
            XCTAssertLessThan(c, 0.9999, "int4 weights change the embedding")
        }

        let v = try Validator.run(ValidationOptions(package: pkg, reference: RuntimeTestPaths.miniLM))
        let e = try XCTUnwrap(v.perplexity.embedding)
        XCTAssertEqual(v.perplexity.kind, "embedding")
        XCTAssertEqual(e.sentences.count, Validator.builtInSentences.count)
        XCTAssertEqual(e.pooling, pooling)
        XCTAssertEqual(e.sentences[0].cosine, BertModel.cosine(fromPackage[0], original[0]), accuracy: 1e-9)
        for f in ["perplexity.json", "benchmarks.json", "noise_profile.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: pkg + "/validation/" + f), f)
        }
    }
}
