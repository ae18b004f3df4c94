import Foundation
import Engine

/// One decoder layer's weights as Float, in the PyTorch [out, in] layout.
public struct LlamaLayerWeights: Sendable {
    public var inputNorm: [Float], postNorm: [Float]
    public var q: [Float], k: [Float], v: [Float], o: [Float]
    public var qBias: [Float]?, kBias: [Float]?, vBias: [Float]?, oBias: [Float]?
    public var gate: [Float], up: [Float], down: [Float]
    public var gateBias: [Float]?, upBias: [Float]?, downBias: [Float]?
}

/// What a block's forward pass shows of each linear's input: `rows` x `columns` activations, row-major.
public typealias LinearInputObserver = (_ space: HessianSpace, _ input: UnsafePointer<Float>, _ rows: Int, _ columns: Int) -> Void

/// RoPE's cos and sin tables [T, headDim] for positions 0..<T.
public struct RopeTables: Sendable {
    public let cos: [Float]
    public let sin: [Float]
}

/// One Llama decoder block as Hugging Face's LlamaDecoderLayer: RMSNorm, rotate_half RoPE, grouped-query causal
/// attention, SwiGLU MLP, both residuals. Shared by the whole-model forward pass and the calibrated job's layer
/// passes, which also watch the inputs of the block's linears.
public enum LlamaBlock {
    /// cos and sin computed in Double and rounded to Float (as reference.py).
    public static func ropeTables(tokens t: Int, shape: LlamaBlockShape) -> RopeTables {
        let hd = shape.headDim, half = hd / 2
        var c = [Float](repeating: 0, count: t * hd), s = c
        for p in 0..<t {
            for i in 0..<half {
                let a = Double(p) * shape.inverseFrequencies[i]
                let cv = Float(Foundation.cos(a)), sv = Float(Foundation.sin(a))
                c[p * hd + i] = cv; c[p * hd + i + half] = cv
                s[p * hd + i] = sv; s[p * hd + i + half] = sv
            }
        }
        return RopeTables(cos: c, sin: s)
    }

    /// x (one sequence, [T, hidden]) becomes the block's output in place; `observe` sees each linear's input.
    public static func forward(_ w: LlamaLayerWeights, x: Matrix, shape c: LlamaBlockShape, rope: RopeTables, observe: LinearInputObserver? = nil) {
        let t = x.rows, d = c.hiddenSize, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, f = c.intermediateSize
        let h = Matrix(rows: t, cols: d)
        Kernels.rmsNorm(x.base, rows: t, cols: d, weight: w.inputNorm, eps: c.rmsNormEps, into: h.base)
        observe?(.attentionInput, h.base, t, d)
        let q = Matrix(rows: t, cols: qd), k = Matrix(rows: t, cols: kvd), v = Matrix(rows: t, cols: kvd)
        Kernels.linear(h.base, rows: t, inFeatures: d, weight: w.q, outFeatures: qd, bias: w.qBias, into: q.base)
        Kernels.linear(h.base, rows: t, inFeatures: d, weight: w.k, outFeatures: kvd, bias: w.kBias, into: k.base)
        Kernels.linear(h.base, rows: t, inFeatures: d, weight: w.v, outFeatures: kvd, bias: w.vBias, into: v.base)
        applyRope(q.base, tokens: t, heads: c.heads, headDim: c.headDim, rope: rope)
        applyRope(k.base, tokens: t, heads: c.kvHeads, headDim: c.headDim, rope: rope)
        let o = Matrix(rows: t, cols: qd), scratch = Matrix(rows: t, cols: t)
        Kernels.attention(q: q.base, k: k.base, v: v.base, tokens: t, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim,
                          causal: true, scratch: scratch.base, into: o.base)
        observe?(.attentionOutput, o.base, t, qd)
        Kernels.linear(o.base, rows: t, inFeatures: qd, weight: w.o, outFeatures: d, bias: w.oBias, into: x.base, accumulate: true)
        Kernels.rmsNorm(x.base, rows: t, cols: d, weight: w.postNorm, eps: c.rmsNormEps, into: h.base)
        observe?(.mlpInput, h.base, t, d)
        let g = Matrix(rows: t, cols: f), u = Matrix(rows: t, cols: f)
        Kernels.linear(h.base, rows: t, inFeatures: d, weight: w.gate, outFeatures: f, bias: w.gateBias, into: g.base)
        Kernels.linear(h.base, rows: t, inFeatures: d, weight: w.up, outFeatures: f, bias: w.upBias, into: u.base)
        for i in 0..<(t * f) { g.data[i] = Kernels.silu(g.data[i]) * u.data[i] }
        observe?(.mlpOutput, g.base, t, f)
        Kernels.linear(g.base, rows: t, inFeatures: f, weight: w.down, outFeatures: d, bias: w.downBias, into: x.base, accumulate: true)
    }

    private static func applyRope(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim hd: Int, rope: RopeTables) {
        let half = hd / 2
        rope.cos.withUnsafeBufferPointer { cos in
            rope.sin.withUnsafeBufferPointer { sin in
                for t in 0..<tokens {
                    for h in 0..<heads {
                        let v = x + (t * heads + h) * hd
                        let cs = t * hd
                        for i in 0..<half {
                            let a = v[i], b = v[i + half]
                            v[i] = a * cos[cs + i] - b * sin[cs + i]
                            v[i + half] = b * cos[cs + i + half] + a * sin[cs + i + half]
                        }
                    }
                }
            }
        }
    }
}
