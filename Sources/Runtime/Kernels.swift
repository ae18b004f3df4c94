import Foundation
import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// A row-major float matrix in manually managed memory, so that parallel loops can fill disjoint rows of
/// several matrices without Swift array copy-on-write or exclusivity checks getting in the way.
public final class Matrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let data: UnsafeMutableBufferPointer<Float>

    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        data = .allocate(capacity: max(rows * cols, 1))
        data.initialize(repeating: 0)
    }

    public convenience init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols)
        self.init(rows: rows, cols: cols)
        _ = data.initialize(from: values)
    }

    deinit { data.deallocate() }

    public var base: UnsafeMutablePointer<Float> { data.baseAddress! }
    public func row(_ i: Int) -> UnsafeMutablePointer<Float> { base + i * cols }
    public var array: [Float] { Array(UnsafeBufferPointer(start: base, count: rows * cols)) }
}

/// Math used by both model families. Everything is float32 like the reference implementations; sums that
/// decide a normalisation are taken in Double.
public enum Kernels {
    /// Y[rows, out] (=|+=) X[rows, in] * W[out, in]^T (+ bias), the PyTorch Linear convention.
    public static func linear(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: [Float], outFeatures: Int,
                              bias: [Float]?, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        precondition(weight.count == outFeatures * inFeatures)
        weight.withUnsafeBufferPointer { w in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures),
                        1, x, Int32(inFeatures), w.baseAddress, Int32(inFeatures), accumulate ? 1 : 0, y, Int32(outFeatures))
        }
        if let b = bias {
            for r in 0..<rows {
                let yr = y + r * outFeatures
                for c in 0..<outFeatures { yr[c] += b[c] }
            }
        }
    }

    /// Root-mean-square norm of each row, times `weight` (Llama's RMSNorm).
    public static func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, cols: Int, weight: [Float], eps: Float, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            var ss: Double = 0
            for c in 0..<cols { ss += Double(xr[c]) * Double(xr[c]) }
            let inv = 1 / (Float(ss / Double(cols)) + eps).squareRoot()
            for c in 0..<cols { yr[c] = xr[c] * inv * weight[c] }
        }
    }

    /// LayerNorm of each row in place: (x - mean) / sqrt(var + eps) * gamma + beta (biased variance, as PyTorch).
    public static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, gamma: [Float], beta: [Float], eps: Float) {
        for r in 0..<rows {
            let xr = x + r * cols
            var s: Double = 0
            for c in 0..<cols { s += Double(xr[c]) }
            let mean = s / Double(cols)
            var v: Double = 0
            for c in 0..<cols { let d = Double(xr[c]) - mean; v += d * d }
            let inv = Float(1 / (v / Double(cols) + Double(eps)).squareRoot())
            let m = Float(mean)
            for c in 0..<cols { xr[c] = (xr[c] - m) * inv * gamma[c] + beta[c] }
        }
    }

    /// GELU with the exact erf form (Hugging Face "gelu").
    @inline(__always) public static func geluErf(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.70710678118654752)) }
    /// GELU with the tanh approximation ("gelu_new", "gelu_pytorch_tanh").
    @inline(__always) public static func geluTanh(_ x: Float) -> Float {
        0.5 * x * (1 + tanhf(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    }
    @inline(__always) public static func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

    /// Log-softmax of a row in place.
    public static func logSoftmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var m = -Float.infinity
        for i in 0..<count { m = max(m, x[i]) }
        var s: Double = 0
        for i in 0..<count { s += Double(expf(x[i] - m)) }
        let lse = m + Float(log(s))
        for i in 0..<count { x[i] -= lse }
    }

    /// Scaled dot-product attention over one sequence. q: [T, heads*hd], k and v: [T, kvHeads*hd] (query head
    /// h reads key/value head h / (heads / kvHeads), Hugging Face's repeat_kv); `causal` masks j > i; `keyMask`
    /// (1 = attend) masks padding. Writes [T, heads*hd] into o. scratch needs T*T floats.
    public static func attention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, tokens t: Int,
                                 heads: Int, kvHeads: Int, headDim hd: Int, causal: Bool, keyMask: [Float]? = nil,
                                 scratch s: UnsafeMutablePointer<Float>, into o: UnsafeMutablePointer<Float>) {
        let rep = heads / kvHeads
        let qStride = heads * hd, kvStride = kvHeads * hd
        let scale = 1 / Float(hd).squareRoot()
        // Causal attention works in blocks of query rows, each against the keys up to its last row only, so the
        // masked upper triangle is (mostly) never computed.
        let block = causal ? 64 : t
        for h in 0..<heads {
            let g = h / rep
            for r0 in stride(from: 0, to: t, by: block) {
                let r1 = min(r0 + block, t)
                let keys = causal ? r1 : t
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(keys), Int32(hd), scale,
                            q + r0 * qStride + h * hd, Int32(qStride), k + g * hd, Int32(kvStride), 0, s, Int32(keys))
                for i in r0..<r1 {
                    let row = s + (i - r0) * keys
                    let last = causal ? i : t - 1
                    var m = -Float.infinity
                    for j in 0...last where keyMask == nil || keyMask![j] != 0 { m = max(m, row[j]) }
                    var sum: Float = 0
                    for j in 0...last {
                        if let km = keyMask, km[j] == 0 { row[j] = 0; continue }
                        let e = expf(row[j] - m)
                        row[j] = e
                        sum += e
                    }
                    let inv = 1 / sum
                    for j in 0...last { row[j] *= inv }
                    if last + 1 < keys { for j in (last + 1)..<keys { row[j] = 0 } }
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r1 - r0), Int32(hd), Int32(keys), 1,
                            s, Int32(keys), v + g * hd, Int32(kvStride), 0, o + r0 * qStride + h * hd, Int32(qStride))
            }
        }
    }
}

/// How the runtime uses the cores: OpenBLAS single-threaded, independent sequences in parallel. Results then
/// do not depend on the thread count (each sequence is computed the same way on whichever thread runs it).
public enum RuntimeThreads {
    public static func configure() { openblas_set_num_threads(1) }

    public static func parallelFor(_ n: Int, _ body: @Sendable (Int) -> Void) {
        if n <= 1 { for i in 0..<n { body(i) }; return }
        DispatchQueue.concurrentPerform(iterations: n, execute: body)
    }
}
