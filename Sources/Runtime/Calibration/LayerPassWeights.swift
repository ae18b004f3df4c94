import Foundation
import Engine

/// What a layer pass reads: the block's weights (from the source, or a quantized linear decoded from its staged
/// tiles) and the shard's input activations (embedded tokens for block 0, the staged X_l after).
enum LayerPassWeights {
    /// A Llama block's weights; its linears' biases are optional.
    static func load(_ spec: LayerPassSpec, shape c: LlamaBlockShape, source: TensorRowSource, stagingFolder: String, staged: Bool) throws -> LlamaLayerWeights {
        let d = c.hiddenSize, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, f = c.intermediateSize
        func read(_ role: BlockTensorRole, _ shape: [Int]) throws -> [Float]? {
            try weight(role, shape, optional: role.isOptional, spec, source: source, stagingFolder: stagingFolder, staged: staged)
        }
        return LlamaLayerWeights(
            inputNorm: try read(.inputNorm, [d])!, postNorm: try read(.postNorm, [d])!,
            q: try read(.q, [qd, d])!, k: try read(.k, [kvd, d])!, v: try read(.v, [kvd, d])!, o: try read(.o, [d, qd])!,
            qBias: try read(.qBias, [qd]), kBias: try read(.kBias, [kvd]), vBias: try read(.vBias, [kvd]), oBias: try read(.oBias, [d]),
            gate: try read(.gate, [f, d])!, up: try read(.up, [f, d])!, down: try read(.down, [d, f])!,
            gateBias: try read(.gateBias, [f]), upBias: try read(.upBias, [f]), downBias: try read(.downBias, [d]))
    }

    /// A BERT layer's sixteen weights, every one required.
    static func loadBert(_ spec: LayerPassSpec, shape c: BertBlockShape, source: TensorRowSource, stagingFolder: String, staged: Bool) throws -> BertLayerWeights {
        let d = c.hiddenSize, f = c.intermediateSize
        func read(_ role: BlockTensorRole, _ shape: [Int]) throws -> [Float] {
            try weight(role, shape, optional: false, spec, source: source, stagingFolder: stagingFolder, staged: staged)!
        }
        return BertLayerWeights(
            q: try read(.q, [d, d]), qb: try read(.qBias, [d]), k: try read(.k, [d, d]), kb: try read(.kBias, [d]),
            v: try read(.v, [d, d]), vb: try read(.vBias, [d]), ao: try read(.o, [d, d]), aob: try read(.oBias, [d]),
            ln1g: try read(.postNorm, [d]), ln1b: try read(.postNormBias, [d]),
            i: try read(.up, [f, d]), ib: try read(.upBias, [f]), o: try read(.down, [d, f]), ob: try read(.downBias, [d]),
            ln2g: try read(.outputNorm, [d]), ln2b: try read(.outputNormBias, [d]))
    }

    /// One weight by role: from the source, or in PROPAGATE the quantized linear decoded from its staged tiles;
    /// nil when an optional role is absent.
    private static func weight(_ role: BlockTensorRole, _ shape: [Int], optional: Bool, _ spec: LayerPassSpec, source: TensorRowSource,
                               stagingFolder: String, staged: Bool) throws -> [Float]? {
        guard let b = spec.tensor(role) else {
            if optional { return nil }
            throw RuntimeError.badInput("block \(spec.layer): the task names no \(role.rawValue) weight")
        }
        let e = b.tensor.entry
        guard e.shape == shape else { throw RuntimeError.badShape(b.tensor.name, expected: shape, got: e.shape) }
        if staged, let s = b.staged { return try decode(s, tensor: b.tensor, stagingFolder: stagingFolder) }
        return try source.readRows(b.tensor, start: 0, count: e.rows)
    }

    /// The weights a package will hold: every tile decoded in the original basis (calibrated layouts have no rotation).
    static func decode(_ s: StagedTensor, tensor: CheckpointTensor, stagingFolder: String) throws -> [Float] {
        let l = s.layout, rows = tensor.entry.rows
        guard l.rotation.isIdentity, l.rows == rows, l.columns == tensor.entry.columns, s.tileRows >= 1,
              s.tiles.count == (rows + s.tileRows - 1) / s.tileRows else {
            throw RuntimeError.badInput("tensor '\(tensor.name)': staged layout of \(l.rows)x\(l.columns) in \(s.tiles.count) tiles of \(s.tileRows) rows does not fit the tensor")
        }
        var w = [Float](repeating: 0, count: rows * l.columns)
        for (k, file) in s.tiles.enumerated() {
            let start = k * s.tileRows, n = min(s.tileRows, rows - start)
            let path = stagingFolder + "/" + file.name
            let arrays = try SafetensorsWriter.decode(try SafetensorsFile(path: path))
            try w.withUnsafeMutableBufferPointer { p in
                try TileCodec.decode(arrays, rows: n, layout: l, into: UnsafeMutableBufferPointer(rebasing: p[(start * l.columns)...]),
                                     file: path, tensor: tensor.name)
            }
        }
        return w
    }

    static func input(_ spec: LayerPassSpec, source: TensorRowSource, stagingFolder: String) throws -> [Float] {
        let d = spec.shape.hiddenSize, n = spec.tokenCount
        if let hidden = spec.hidden { return try CalibrationFiles.readHidden(hidden, tokens: n, width: d, stagingFolder: stagingFolder) }
        guard let e = spec.embedding, spec.tokens.count == n else {
            throw RuntimeError.badInput("block \(spec.layer), shard \(spec.shard): neither staged activations nor \(n) token ids with an embedding")
        }
        guard e.entry.shape.count == 2, e.entry.columns == d else { throw RuntimeError.badShape(e.name, expected: [e.entry.rows, d], got: e.entry.shape) }
        var x = [Float](repeating: 0, count: n * d)
        var rows: [Int: [Float]] = [:]
        for (i, id) in spec.tokens.enumerated() {
            guard id >= 0, id < e.entry.rows else { throw RuntimeError.badInput("token id \(id) outside the vocabulary of \(e.entry.rows) (\(e.name))") }
            if rows[id] == nil { rows[id] = try source.readRows(e, start: id, count: 1) }
            for c in 0..<d { x[i * d + c] = rows[id]![c] }
        }
        if case .bert(let shape) = spec.shape { try embedBert(&x, spec, shape: shape, source: source) }
        return x
    }

    /// BERT's embedding stage over the shard's word embeddings, one sequence at a time.
    private static func embedBert(_ x: inout [Float], _ spec: LayerPassSpec, shape: BertBlockShape, source: TensorRowSource) throws {
        let d = shape.hiddenSize, t = spec.sequenceLength
        func read(_ role: BlockTensorRole, _ fits: ([Int]) -> Bool, _ expected: String) throws -> [Float] {
            guard let b = spec.tensor(role) else { throw RuntimeError.badInput("block \(spec.layer): the task names no \(role.rawValue) weight for the embedding stage") }
            guard fits(b.tensor.entry.shape) else {
                throw RuntimeError.badInput("tensor '\(b.tensor.name)': shape \(b.tensor.entry.shape), expected \(expected)")
            }
            return try source.readRows(b.tensor, start: 0, count: b.tensor.entry.rows)
        }
        guard t <= shape.maxPositions else { throw RuntimeError.badInput("block 0: sequences of \(t) tokens, but \(shape.maxPositions) positions") }
        let stage = BertEmbeddingWeights(
            positions: try read(.positionEmbedding, { $0 == [shape.maxPositions, d] }, "[\(shape.maxPositions), \(d)]"),
            types: try read(.tokenTypeEmbedding, { $0.count == 2 && $0[0] >= 1 && $0[1] == d }, "[types, \(d)]"),
            gamma: try read(.embeddingNorm, { $0 == [d] }, "[\(d)]"), beta: try read(.embeddingNormBias, { $0 == [d] }, "[\(d)]"))
        for s in 0..<spec.sequences {
            let m = Matrix(rows: t, cols: d, values: Array(x[(s * t * d)..<((s + 1) * t * d)]))
            BertBlock.embed(m, stage, eps: shape.layerNormEps)
            for i in 0..<(t * d) { x[s * t * d + i] = m.data[i] }
        }
    }
}
