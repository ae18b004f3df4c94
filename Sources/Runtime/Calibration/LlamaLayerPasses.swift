import Foundation
import COpenBLAS
import Engine

/// CAPTURE and PROPAGATE for Llama-family blocks, one shard of calibration sequences at a time: a worker holds
/// the block's weights and the shard's activations, never the model's or the whole calibration set's.
public struct LlamaLayerPasses: LayerPassRunner {
    public init() {}

    public func run(_ kind: TaskKind, _ spec: LayerPassSpec, source: TensorRowSource, stagingFolder: String) throws
        -> (files: [(name: String, bytes: [UInt8])], result: LayerPassResult) {
        let what = "\(kind.rawValue.uppercased()) of block \(spec.layer), shard \(spec.shard)"
        if let p = spec.shape.problem() { throw RuntimeError.badInput("\(what): \(p)") }
        guard spec.sequences >= 1, spec.sequenceLength >= 1 else { throw RuntimeError.badInput("\(what): \(spec.sequences) sequences of \(spec.sequenceLength) tokens") }
        let weights = try LayerPassWeights.load(spec, source: source, stagingFolder: stagingFolder, staged: kind == .propagate)
        var x = try LayerPassWeights.input(spec, source: source, stagingFolder: stagingFolder)
        let t = spec.sequenceLength, d = spec.shape.hiddenSize
        let rope = LlamaBlock.ropeTables(tokens: t, shape: spec.shape)
        switch kind {
        case .capture:
            var moments = HessianSpace.allCases.map { SecondMoments(columns: spec.shape.columns(of: $0)) }
            for b in 0..<spec.sequences {
                let m = Matrix(rows: t, cols: d, values: Array(x[(b * t * d)..<((b + 1) * t * d)]))
                LlamaBlock.forward(weights, x: m, shape: spec.shape, rope: rope) { space, input, rows, cols in
                    moments[HessianSpace.allCases.firstIndex(of: space)!].add(input, rows: rows)
                }
            }
            let files = zip(HessianSpace.allCases, moments).map { space, h in
                (name: StagingNames.hessian(layer: spec.layer, shard: spec.shard, space: space),
                 bytes: CalibrationFiles.encodeHessian(h.symmetric(), columns: h.columns))
            }
            return (files, LayerPassResult(tokens: spec.tokenCount))
        case .propagate:
            for b in 0..<spec.sequences {
                let m = Matrix(rows: t, cols: d, values: Array(x[(b * t * d)..<((b + 1) * t * d)]))
                LlamaBlock.forward(weights, x: m, shape: spec.shape, rope: rope)
                for i in 0..<(t * d) { x[b * t * d + i] = m.data[i] }
            }
            let name = StagingNames.hidden(layer: spec.layer + 1, shard: spec.shard)
            return ([(name, CalibrationFiles.encodeHidden(x, tokens: spec.tokenCount, width: d))], LayerPassResult(tokens: spec.tokenCount))
        default:
            throw RuntimeError.unsupported("a \(kind.rawValue) task is not a layer pass")
        }
    }
}

/// H = Σ xxᵀ over the rows seen, in f64, accumulated by one rank-k update (syrk, the upper triangle: half a gemm's
/// work) per observed input in a fixed order, and mirrored once at the end.
struct SecondMoments {
    let columns: Int
    private var upper: [Double]
    private var widened: [Double] = []

    init(columns: Int) {
        self.columns = columns
        upper = [Double](repeating: 0, count: columns * columns)
    }

    mutating func add(_ x: UnsafePointer<Float>, rows: Int) {
        let n = columns
        if widened.count < rows * n { widened = [Double](repeating: 0, count: rows * n) }
        for i in 0..<(rows * n) { widened[i] = Double(x[i]) }
        widened.withUnsafeBufferPointer { a in
            upper.withUnsafeMutableBufferPointer { h in
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(rows), 1, a.baseAddress!, Int32(n), 1, h.baseAddress!, Int32(n))
            }
        }
    }

    /// The whole symmetric H, row-major.
    func symmetric() -> [Double] {
        var h = upper
        for i in 0..<columns { for j in 0..<i { h[i * columns + j] = h[j * columns + i] } }
        return h
    }
}
