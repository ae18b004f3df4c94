import Foundation
import COpenBLAS
import Engine

/// CAPTURE and PROPAGATE for Llama-family decoder blocks and BERT encoder layers, one shard of calibration
/// sequences at a time: a worker holds the block's weights and the shard's activations, never the model's or the
/// whole calibration set's.
public struct BlockLayerPasses: LayerPassRunner {
    public init() {}

    public func run(_ kind: TaskKind, _ spec: LayerPassSpec, source: TensorRowSource, stagingFolder: String) throws
        -> (files: [(name: String, bytes: [UInt8])], result: LayerPassResult) {
        let what = "\(kind.rawValue.uppercased()) of block \(spec.layer), shard \(spec.shard)"
        if let p = spec.shape.problem() { throw RuntimeError.badInput("\(what): \(p)") }
        guard spec.sequences >= 1, spec.sequenceLength >= 1 else { throw RuntimeError.badInput("\(what): \(spec.sequences) sequences of \(spec.sequenceLength) tokens") }
        guard kind == .capture || kind == .propagate else { throw RuntimeError.unsupported("a \(kind.rawValue) task is not a layer pass") }
        let forward = try Self.block(spec, source: source, stagingFolder: stagingFolder, staged: kind == .propagate)
        var x = try LayerPassWeights.input(spec, source: source, stagingFolder: stagingFolder)
        let t = spec.sequenceLength, d = spec.shape.hiddenSize
        if kind == .capture {
            var moments = HessianSpace.allCases.map { SecondMoments(columns: spec.shape.columns(of: $0)) }
            for b in 0..<spec.sequences {
                let m = Matrix(rows: t, cols: d, values: Array(x[(b * t * d)..<((b + 1) * t * d)]))
                forward(m) { space, input, rows, cols in
                    moments[HessianSpace.allCases.firstIndex(of: space)!].add(input, rows: rows)
                }
            }
            // Each space's sums let go as they are encoded: one H beside the files at a time.
            let files = HessianSpace.allCases.indices.map { i in
                (name: StagingNames.hessian(layer: spec.layer, shard: spec.shard, space: HessianSpace.allCases[i]),
                 bytes: CalibrationFiles.encodeHessian(moments[i].takeSymmetric(), columns: moments[i].columns))
            }
            return (files, LayerPassResult(tokens: spec.tokenCount))
        }
        for b in 0..<spec.sequences {
            let m = Matrix(rows: t, cols: d, values: Array(x[(b * t * d)..<((b + 1) * t * d)]))
            forward(m, nil)
            for i in 0..<(t * d) { x[b * t * d + i] = m.data[i] }
        }
        let name = StagingNames.hidden(layer: spec.layer + 1, shard: spec.shard)
        return ([(name, CalibrationFiles.encodeHidden(x, tokens: spec.tokenCount, width: d))], LayerPassResult(tokens: spec.tokenCount))
    }

    /// The block's forward pass over one sequence, in place, with its weights loaded once.
    private static func block(_ spec: LayerPassSpec, source: TensorRowSource, stagingFolder: String, staged: Bool) throws
        -> (Matrix, LinearInputObserver?) -> Void {
        switch spec.shape {
        case .llama(let shape):
            let w = try LayerPassWeights.load(spec, shape: shape, source: source, stagingFolder: stagingFolder, staged: staged)
            let rope = LlamaBlock.ropeTables(tokens: spec.sequenceLength, shape: shape)
            return { LlamaBlock.forward(w, x: $0, shape: shape, rope: rope, observe: $1) }
        case .bert(let shape):
            let w = try LayerPassWeights.loadBert(spec, shape: shape, source: source, stagingFolder: stagingFolder, staged: staged)
            return { BertBlock.forward(w, x: $0, shape: shape, observe: $1) }
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

    /// The whole symmetric H, row-major, mirrored in place: the sums are handed over, not copied.
    mutating func takeSymmetric() -> [Double] {
        var h: [Double] = []
        swap(&h, &upper)
        for i in 0..<columns { for j in 0..<i { h[i * columns + j] = h[j * columns + i] } }
        widened = []
        return h
    }
}
