import Foundation
import Engine

public struct BertConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var layerNormEps: Float
    public var maxPositions: Int
    public var typeVocabSize: Int
    public var hiddenAct: String

    public init(_ c: JSONValue) throws {
        func need(_ k: String) throws -> Int {
            guard let v = c[k]?.doubleValue.map({ Int($0) }), v > 0 else { throw RuntimeError.badConfig("'\(k)' missing or not a positive integer") }
            return v
        }
        vocabSize = try need("vocab_size")
        hiddenSize = try need("hidden_size")
        layers = try need("num_hidden_layers")
        heads = try need("num_attention_heads")
        intermediateSize = try need("intermediate_size")
        layerNormEps = Float(c["layer_norm_eps"]?.doubleValue ?? 1e-12)
        maxPositions = c["max_position_embeddings"]?.doubleValue.map { Int($0) } ?? 512
        typeVocabSize = c["type_vocab_size"]?.doubleValue.map { Int($0) } ?? 2
        hiddenAct = c["hidden_act"]?.stringValue ?? "gelu"
        guard hiddenSize % heads == 0 else { throw RuntimeError.badConfig("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(heads)") }
        guard BertBlockShape.activations.contains(hiddenAct) else { throw RuntimeError.unsupported("hidden_act '\(hiddenAct)'") }
        if let p = c["position_embedding_type"]?.stringValue, p != "absolute" { throw RuntimeError.unsupported("position_embedding_type '\(p)'") }
    }

    /// One encoder layer's shape, as a layer pass is given it.
    public var blockShape: BertBlockShape {
        BertBlockShape(hiddenSize: hiddenSize, intermediateSize: intermediateSize, heads: heads, layerNormEps: layerNormEps,
                       activation: hiddenAct, maxPositions: maxPositions)
    }
}

/// A BERT encoder as transformers' BertModel: word + absolute position + token type embeddings and LayerNorm,
/// post-LN encoder layers (self-attention, residual, LayerNorm; GELU MLP, residual, LayerNorm), then
/// sentence-transformers pooling over the attention mask and optional L2 normalisation.
public final class BertModel: @unchecked Sendable {
    public let config: BertConfig
    public let weights: WeightProvider
    public let pooling: SentencePooling
    private let prefix: String
    private var layersCache: [Int: BertLayerWeights] = [:]
    private var embeddingStage: BertEmbeddingWeights?
    private let lock = NSLock()

    public init(weights: WeightProvider, pooling: SentencePooling = SentencePooling()) throws {
        self.weights = weights
        self.pooling = pooling
        config = try BertConfig(weights.config)
        prefix = weights.has("bert.embeddings.word_embeddings.weight") ? "bert." : ""
        guard weights.has(prefix + "embeddings.word_embeddings.weight") else {
            throw RuntimeError.missingTensor("embeddings.word_embeddings.weight", in: weights.label)
        }
    }

    private func layer(_ l: Int) throws -> BertLayerWeights {
        lock.lock(); defer { lock.unlock() }
        if let w = layersCache[l] { return w }
        let d = config.hiddenSize, f = config.intermediateSize, p = prefix + "encoder.layer.\(l)."
        let w = weights
        let lw = BertLayerWeights(
            q: try w.tensor(p + "attention.self.query.weight", shape: [d, d]), qb: try w.tensor(p + "attention.self.query.bias", shape: [d]),
            k: try w.tensor(p + "attention.self.key.weight", shape: [d, d]), kb: try w.tensor(p + "attention.self.key.bias", shape: [d]),
            v: try w.tensor(p + "attention.self.value.weight", shape: [d, d]), vb: try w.tensor(p + "attention.self.value.bias", shape: [d]),
            ao: try w.tensor(p + "attention.output.dense.weight", shape: [d, d]), aob: try w.tensor(p + "attention.output.dense.bias", shape: [d]),
            ln1g: try w.tensor(p + "attention.output.LayerNorm.weight", shape: [d]), ln1b: try w.tensor(p + "attention.output.LayerNorm.bias", shape: [d]),
            i: try w.tensor(p + "intermediate.dense.weight", shape: [f, d]), ib: try w.tensor(p + "intermediate.dense.bias", shape: [f]),
            o: try w.tensor(p + "output.dense.weight", shape: [d, f]), ob: try w.tensor(p + "output.dense.bias", shape: [d]),
            ln2g: try w.tensor(p + "output.LayerNorm.weight", shape: [d]), ln2b: try w.tensor(p + "output.LayerNorm.bias", shape: [d]))
        layersCache[l] = lw
        return lw
    }

    private func embeddingWeights() throws -> BertEmbeddingWeights {
        lock.lock(); defer { lock.unlock() }
        if let e = embeddingStage { return e }
        let d = config.hiddenSize, p = prefix + "embeddings."
        let e = BertEmbeddingWeights(positions: try weights.tensor(p + "position_embeddings.weight", shape: [config.maxPositions, d]),
                                     types: try weights.tensor(p + "token_type_embeddings.weight", shape: [config.typeVocabSize, d]),
                                     gamma: try weights.tensor(p + "LayerNorm.weight", shape: [d]), beta: try weights.tensor(p + "LayerNorm.bias", shape: [d]))
        embeddingStage = e
        return e
    }

    /// Last hidden states [T, hidden] of each sequence (token type 0, no padding: each sequence is its own batch).
    public func hiddenStates(_ sequences: [[Int]]) throws -> [Matrix] {
        let c = config, d = c.hiddenSize
        for s in sequences {
            guard !s.isEmpty, s.count <= c.maxPositions else { throw RuntimeError.badInput("sequence of \(s.count) tokens (1...\(c.maxPositions) allowed)") }
        }
        let embedding = try embeddingWeights()
        let xs: [Matrix] = try sequences.map { s in
            let m = Matrix(rows: s.count, cols: d, values: try weights.gatherRows(prefix + "embeddings.word_embeddings.weight", ids: s))
            BertBlock.embed(m, embedding, eps: c.layerNormEps)
            return m
        }
        let shape = c.blockShape
        for l in 0..<c.layers {
            let w = try layer(l)
            RuntimeThreads.parallelFor(xs.count) { b in BertBlock.forward(w, x: xs[b], shape: shape) }
        }
        return xs
    }

    /// Sentence embeddings: pooled (mean over the attention mask = all tokens here, as no padding is used) and
    /// L2-normalised when the model's modules say so.
    public func embed(_ sequences: [[Int]]) throws -> [[Float]] {
        let d = config.hiddenSize
        return try hiddenStates(sequences).map { m in
            var e = [Float](repeating: 0, count: d)
            switch pooling.mode {
            case .cls: for j in 0..<d { e[j] = m.data[j] }
            case .max:
                for j in 0..<d { var best = -Float.infinity; for t in 0..<m.rows { best = max(best, m.data[t * d + j]) }; e[j] = best }
            case .mean:
                var acc = [Double](repeating: 0, count: d)
                for t in 0..<m.rows { for j in 0..<d { acc[j] += Double(m.data[t * d + j]) } }
                for j in 0..<d { e[j] = Float(acc[j] / Double(m.rows)) }
            }
            if pooling.normalize {
                let n = max(e.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot(), 1e-12)
                for j in 0..<d { e[j] = Float(Double(e[j]) / n) }
            }
            return e
        }
    }

    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in 0..<min(a.count, b.count) { ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i]) }
        return ab / max((aa * bb).squareRoot(), 1e-30)
    }
}
