import Foundation
import Engine

/// The Llama family's hyper-parameters from config.json (llama, mistral without sliding window, qwen2).
public struct LlamaConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var maxPositions: Int
    public var tieWordEmbeddings: Bool
    /// Inverse RoPE frequencies (hd / 2 of them), after any rope_scaling.
    public var inverseFrequencies: [Double]

    public init(_ c: JSONValue) throws {
        func int(_ k: String) -> Int? { c[k]?.doubleValue.map { Int($0) } }
        func need(_ k: String) throws -> Int {
            guard let v = int(k), v > 0 else { throw RuntimeError.badConfig("'\(k)' missing or not a positive integer") }
            return v
        }
        vocabSize = try need("vocab_size")
        hiddenSize = try need("hidden_size")
        intermediateSize = try need("intermediate_size")
        layers = try need("num_hidden_layers")
        heads = try need("num_attention_heads")
        kvHeads = int("num_key_value_heads") ?? heads
        headDim = int("head_dim") ?? hiddenSize / heads
        rmsNormEps = Float(c["rms_norm_eps"]?.doubleValue ?? 1e-6)
        ropeTheta = c["rope_theta"]?.doubleValue ?? 10000
        maxPositions = int("max_position_embeddings") ?? 2048
        if case .bool(let b)? = c["tie_word_embeddings"] { tieWordEmbeddings = b } else { tieWordEmbeddings = false }
        guard heads % kvHeads == 0 else { throw RuntimeError.badConfig("num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kvHeads)") }
        guard headDim % 2 == 0 else { throw RuntimeError.badConfig("head_dim \(headDim) must be even for RoPE") }
        let hd = headDim, theta = ropeTheta
        var inv = (0..<(hd / 2)).map { 1.0 / pow(theta, Double(2 * $0) / Double(hd)) }
        if let s = c["rope_scaling"], s != .null {
            let kind = s["rope_type"]?.stringValue ?? s["type"]?.stringValue ?? "default"
            let factor = s["factor"]?.doubleValue ?? 1
            switch kind {
            case "default": break
            case "linear": inv = inv.map { $0 / factor }
            case "llama3":
                // transformers' _compute_llama3_parameters.
                let low = s["low_freq_factor"]?.doubleValue ?? 1, high = s["high_freq_factor"]?.doubleValue ?? 4
                let old = s["original_max_position_embeddings"]?.doubleValue ?? 8192
                let lowWavelen = old / low, highWavelen = old / high
                inv = inv.map { f in
                    let wavelen = 2 * Double.pi / f
                    if wavelen < highWavelen { return f }
                    if wavelen > lowWavelen { return f / factor }
                    let smooth = (old / wavelen - low) / (high - low)
                    return (1 - smooth) * f / factor + smooth * f
                }
            default: throw RuntimeError.unsupported("rope_scaling type '\(kind)'")
            }
        }
        inverseFrequencies = inv
    }

    /// What one decoder block needs of the config.
    public var blockShape: LlamaBlockShape {
        LlamaBlockShape(hiddenSize: hiddenSize, intermediateSize: intermediateSize, heads: heads, kvHeads: kvHeads, headDim: headDim,
                        rmsNormEps: rmsNormEps, inverseFrequencies: inverseFrequencies)
    }
}

/// A Llama-family causal LM forward pass on OpenBLAS, following Hugging Face's LlamaForCausalLM: RMSNorm,
/// rotate_half RoPE, grouped-query attention with repeat_kv, SwiGLU MLP, final norm, lm_head (untied, or tied
/// to the embeddings when the config says so or no lm_head is stored); optional biases (qwen2's q/k/v).
/// Weights come from a `WeightProvider` one layer at a time; layers stay resident while the whole model fits
/// `residentBudgetBytes`, otherwise each batch streams them again.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let weights: WeightProvider
    private let prefix: String
    private let residentBudgetBytes: Int
    private var resident: [Int: LlamaLayerWeights] = [:]
    private var head: (norm: [Float], lmHead: [Float])?
    private let lock = NSLock()

    public init(weights: WeightProvider, residentBudgetBytes: Int = 4 << 30) throws {
        self.weights = weights
        config = try LlamaConfig(weights.config)
        prefix = weights.has("model.embed_tokens.weight") ? "model." : ""
        self.residentBudgetBytes = residentBudgetBytes
        guard weights.has(prefix + "embed_tokens.weight") else { throw RuntimeError.missingTensor("model.embed_tokens.weight", in: weights.label) }
    }

    /// Bytes of Float weights for the whole model.
    var floatBytes: Int {
        let c = config
        let perLayer = c.hiddenSize * (c.heads * c.headDim) * 2 + c.hiddenSize * (c.kvHeads * c.headDim) * 2 + 3 * c.hiddenSize * c.intermediateSize
        return 4 * (perLayer * c.layers + 2 * c.vocabSize * c.hiddenSize)
    }

    private func layer(_ l: Int) throws -> LlamaLayerWeights {
        lock.lock(); defer { lock.unlock() }
        if let w = resident[l] { return w }
        let c = config, d = c.hiddenSize, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, f = c.intermediateSize
        let p = prefix + "layers.\(l)."
        let w = weights
        let lw = LlamaLayerWeights(
            inputNorm: try w.tensor(p + "input_layernorm.weight", shape: [d]),
            postNorm: try w.tensor(p + "post_attention_layernorm.weight", shape: [d]),
            q: try w.tensor(p + "self_attn.q_proj.weight", shape: [qd, d]),
            k: try w.tensor(p + "self_attn.k_proj.weight", shape: [kvd, d]),
            v: try w.tensor(p + "self_attn.v_proj.weight", shape: [kvd, d]),
            o: try w.tensor(p + "self_attn.o_proj.weight", shape: [d, qd]),
            qBias: try w.optionalTensor(p + "self_attn.q_proj.bias", shape: [qd]),
            kBias: try w.optionalTensor(p + "self_attn.k_proj.bias", shape: [kvd]),
            vBias: try w.optionalTensor(p + "self_attn.v_proj.bias", shape: [kvd]),
            oBias: try w.optionalTensor(p + "self_attn.o_proj.bias", shape: [d]),
            gate: try w.tensor(p + "mlp.gate_proj.weight", shape: [f, d]),
            up: try w.tensor(p + "mlp.up_proj.weight", shape: [f, d]),
            down: try w.tensor(p + "mlp.down_proj.weight", shape: [d, f]),
            gateBias: try w.optionalTensor(p + "mlp.gate_proj.bias", shape: [f]),
            upBias: try w.optionalTensor(p + "mlp.up_proj.bias", shape: [f]),
            downBias: try w.optionalTensor(p + "mlp.down_proj.bias", shape: [d]))
        if floatBytes <= residentBudgetBytes { resident[l] = lw }
        return lw
    }

    private func headWeights() throws -> (norm: [Float], lmHead: [Float]) {
        lock.lock(); defer { lock.unlock() }
        if let h = head { return h }
        let c = config
        let norm = try weights.tensor(prefix + "norm.weight", shape: [c.hiddenSize])
        let lm: [Float]
        if weights.has("lm_head.weight") {
            lm = try weights.tensor("lm_head.weight", shape: [c.vocabSize, c.hiddenSize])
        } else {
            lm = try weights.tensor(prefix + "embed_tokens.weight", shape: [c.vocabSize, c.hiddenSize])
        }
        let h = (norm, lm)
        if floatBytes <= residentBudgetBytes { head = h }
        return h
    }

    /// Loads every layer now (when the model fits the budget), so timing a forward pass excludes dequantization.
    public func preload() throws {
        for l in 0..<config.layers { _ = try layer(l) }
        _ = try headWeights()
    }

    /// Log-probabilities [T, vocab] of the next token at every position, for each sequence (sequences may
    /// differ in length; each is its own batch element, processed in parallel).
    public func logProbs(_ sequences: [[Int]]) throws -> [Matrix] {
        let c = config, d = c.hiddenSize
        for s in sequences {
            guard !s.isEmpty else { throw RuntimeError.badInput("empty sequence") }
            guard s.count <= c.maxPositions else { throw RuntimeError.badInput("sequence of \(s.count) tokens exceeds max_position_embeddings \(c.maxPositions)") }
            if let bad = s.first(where: { $0 < 0 || $0 >= c.vocabSize }) { throw RuntimeError.badInput("token id \(bad) outside the vocabulary of \(c.vocabSize)") }
        }
        let xs: [Matrix] = try sequences.map { s in Matrix(rows: s.count, cols: d, values: try weights.gatherRows(prefix + "embed_tokens.weight", ids: s)) }
        let longest = sequences.map(\.count).max() ?? 0
        let shape = c.blockShape
        let rope = LlamaBlock.ropeTables(tokens: longest, shape: shape)
        for l in 0..<c.layers {
            let w = try layer(l)
            RuntimeThreads.parallelFor(xs.count) { b in LlamaBlock.forward(w, x: xs[b], shape: shape, rope: rope) }
        }
        let (norm, lm) = try headWeights()
        let out = xs.map { Matrix(rows: $0.rows, cols: c.vocabSize) }
        RuntimeThreads.parallelFor(xs.count) { b in
            let x = xs[b], t = x.rows
            let h = Matrix(rows: t, cols: d)
            Kernels.rmsNorm(x.base, rows: t, cols: d, weight: norm, eps: c.rmsNormEps, into: h.base)
            Kernels.linear(h.base, rows: t, inFeatures: d, weight: lm, outFeatures: c.vocabSize, bias: nil, into: out[b].base)
            for i in 0..<t { Kernels.logSoftmax(out[b].row(i), count: c.vocabSize) }
        }
        return out
    }
}
