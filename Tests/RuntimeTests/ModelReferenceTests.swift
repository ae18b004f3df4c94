import XCTest
import Foundation
@testable import Engine
@testable import Runtime

/// The forward passes against independent numpy references.
final class ModelReferenceTests: XCTestCase {
    override func setUp() { RuntimeThreads.configure() }

    /// tiny-llama's bf16 weights on the first 4396 bytes of eval.txt (8 windows of 512 and a last one of 300):
    /// reference.py's own functions give, for exactly that prefix,
    ///   cd ../shared/models/tiny-llama-bytes && python3 -c "import json,reference as R; \
    ///     print(R.perplexity(R.load_safetensors('model.safetensors'), json.load(open('config.json')), open('eval.txt','rb').read()[:4396]))"
    ///   -> (4.714884202829971, 4387)
    /// (and 4.72786307210558 over the first 4096 bytes). The Swift runtime must agree within 0.1%.
    func testTinyLlamaPerplexityMatchesReferencePy() throws {
        try RuntimeTestPaths.requireModel(RuntimeTestPaths.tinyLlama)
        let model = try LlamaModel(weights: CheckpointWeights(folder: RuntimeTestPaths.tinyLlama))
        let bytes = try EvalTokens.load(file: RuntimeTestPaths.tinyLlama + "/eval.txt", vocabSize: 256)
        let windows = EvalTokens.windows(Array(bytes.prefix(4396)), window: 512)
        XCTAssertEqual(windows.map(\.count), Array(repeating: 512, count: 8) + [300])
        let r = try CausalLMEvaluator.evaluate(model: model, windows: windows)
        XCTAssertEqual(r.scoredTokens, 4387)
        XCTAssertEqual(r.perplexity, 4.714884202829971, accuracy: 4.714884202829971 * 0.001)
        let bounded = try CausalLMEvaluator.evaluate(model: model, windows: EvalTokens.windows(bytes, window: 512, maxWindows: 8))
        XCTAssertEqual(bounded.scoredTokens, 4088)
        XCTAssertEqual(bounded.perplexity, 4.72786307210558, accuracy: 4.72786307210558 * 0.001)
    }

    /// The same model against itself: zero KL, full top-1 agreement; and batching does not change results.
    func testSelfComparisonIsExactAndBatchIndependent() throws {
        try RuntimeTestPaths.requireModel(RuntimeTestPaths.tinyLlama)
        let model = try LlamaModel(weights: CheckpointWeights(folder: RuntimeTestPaths.tinyLlama))
        let bytes = try EvalTokens.load(file: RuntimeTestPaths.tinyLlama + "/eval.txt", vocabSize: 256)
        let windows = EvalTokens.windows(Array(bytes.prefix(3 * 128)), window: 128)
        let a = try CausalLMEvaluator.evaluate(model: model, reference: model, windows: windows, batch: 1)
        let b = try CausalLMEvaluator.evaluate(model: model, reference: model, windows: windows, batch: 3)
        XCTAssertEqual(a.perplexity, b.perplexity)
        XCTAssertEqual(a.reference!.meanKL, 0, accuracy: 1e-12)
        XCTAssertEqual(a.reference!.top1Agreement, 1)
    }

    /// all-MiniLM-L6-v2 sentence embeddings against scripts/minilm_reference.py (numpy), committed as
    /// Fixtures/minilm_reference.json by
    ///   python3 scripts/minilm_reference.py --model ../shared/models/all-MiniLM-L6-v2 \
    ///       --out Tests/RuntimeTests/Fixtures/minilm_reference.json --check-tokenizers
    func testMiniLMEmbeddingsMatchNumpyReference() throws {
        try RuntimeTestPaths.requireModel(RuntimeTestPaths.miniLM)
        let f = try MiniLMFixture.load()
        let pooling = SentencePooling.load(folder: RuntimeTestPaths.miniLM)
        XCTAssertEqual(pooling, SentencePooling(mode: .mean, normalize: true), "modules.json lists 2_Normalize")
        XCTAssertEqual(pooling.mode.rawValue, f.pooling.mode)
        XCTAssertEqual(pooling.normalize, f.pooling.normalize)
        let model = try BertModel(weights: CheckpointWeights(folder: RuntimeTestPaths.miniLM), pooling: pooling)
        let tokenizer = try WordPieceTokenizer.load(folder: RuntimeTestPaths.miniLM)
        let ids = f.sentences.map { tokenizer.encode($0.text) }
        XCTAssertEqual(ids, f.sentences.map(\.ids))
        let emb = try model.embed(ids)
        for (e, s) in zip(emb, f.sentences) {
            let c = BertModel.cosine(e, s.embedding)
            XCTAssertGreaterThan(c, 0.9999, s.text)
            let norm = e.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
        }
        // Distinct sentences are not all alike (the check is not vacuous).
        XCTAssertLessThan(BertModel.cosine(emb[0], emb[4]), 0.9)
    }
}
