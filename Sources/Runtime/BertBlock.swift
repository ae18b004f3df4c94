import Foundation
import Engine

/// One BERT encoder layer's weights as Float, in the PyTorch [out, in] layout.
struct BertLayerWeights: Sendable {
    var q: [Float], qb: [Float], k: [Float], kb: [Float], v: [Float], vb: [Float]
    var ao: [Float], aob: [Float], ln1g: [Float], ln1b: [Float]
    var i: [Float], ib: [Float], o: [Float], ob: [Float], ln2g: [Float], ln2b: [Float]
}

/// The embedding stage's weights besides the word embeddings: positions [maxPositions, hidden], token types
/// [types, hidden] and the LayerNorm after their sum.
struct BertEmbeddingWeights: Sendable {
    var positions: [Float], types: [Float], gamma: [Float], beta: [Float]
}

/// BERT as transformers' BertLayer and BertEmbeddings: shared by the whole-model forward pass and the
/// calibrated job's layer passes, which also watch the inputs of the layer's linears.
enum BertBlock {
    /// Word embedding rows of one sequence ([T, hidden], in place) become the first layer's input: plus the
    /// absolute position and token type 0 embeddings, then LayerNorm.
    static func embed(_ x: Matrix, _ e: BertEmbeddingWeights, eps: Float) {
        let t = x.rows, d = x.cols
        for p in 0..<t { for j in 0..<d { x.data[p * d + j] += e.positions[p * d + j] + e.types[j] } }
        Kernels.layerNorm(x.base, rows: t, cols: d, gamma: e.gamma, beta: e.beta, eps: eps)
    }

    /// x (one sequence, [T, hidden]) becomes the layer's output in place: bidirectional self-attention, residual,
    /// LayerNorm; the activated MLP, residual, LayerNorm. `observe` sees each linear's input.
    static func forward(_ w: BertLayerWeights, x: Matrix, shape c: BertBlockShape, observe: LinearInputObserver? = nil) {
        let t = x.rows, d = c.hiddenSize, f = c.intermediateSize
        observe?(.attentionInput, x.base, t, d)
        let q = Matrix(rows: t, cols: d), k = Matrix(rows: t, cols: d), v = Matrix(rows: t, cols: d)
        Kernels.linear(x.base, rows: t, inFeatures: d, weight: w.q, outFeatures: d, bias: w.qb, into: q.base)
        Kernels.linear(x.base, rows: t, inFeatures: d, weight: w.k, outFeatures: d, bias: w.kb, into: k.base)
        Kernels.linear(x.base, rows: t, inFeatures: d, weight: w.v, outFeatures: d, bias: w.vb, into: v.base)
        let o = Matrix(rows: t, cols: d), scratch = Matrix(rows: t, cols: t)
        Kernels.attention(q: q.base, k: k.base, v: v.base, tokens: t, heads: c.heads, kvHeads: c.heads, headDim: d / c.heads,
                          causal: false, scratch: scratch.base, into: o.base)
        observe?(.attentionOutput, o.base, t, d)
        Kernels.linear(o.base, rows: t, inFeatures: d, weight: w.ao, outFeatures: d, bias: w.aob, into: x.base, accumulate: true)
        Kernels.layerNorm(x.base, rows: t, cols: d, gamma: w.ln1g, beta: w.ln1b, eps: c.layerNormEps)
        observe?(.mlpInput, x.base, t, d)
        let h = Matrix(rows: t, cols: f)
        Kernels.linear(x.base, rows: t, inFeatures: d, weight: w.i, outFeatures: f, bias: w.ib, into: h.base)
        switch c.activation {
        case "gelu": for i in 0..<(t * f) { h.data[i] = Kernels.geluErf(h.data[i]) }
        case "relu": for i in 0..<(t * f) { h.data[i] = max(0, h.data[i]) }
        default: for i in 0..<(t * f) { h.data[i] = Kernels.geluTanh(h.data[i]) }
        }
        observe?(.mlpOutput, h.base, t, f)
        Kernels.linear(h.base, rows: t, inFeatures: f, weight: w.o, outFeatures: d, bias: w.ob, into: x.base, accumulate: true)
        Kernels.layerNorm(x.base, rows: t, cols: d, gamma: w.ln2g, beta: w.ln2b, eps: c.layerNormEps)
    }
}
