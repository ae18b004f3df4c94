import Foundation
import Engine

/// What a layer pass reads: the block's weights (from the source, or a quantized linear decoded from its staged
/// tiles) and the shard's input activations (embedded tokens for block 0, the staged X_l after).
enum LayerPassWeights {
    static func load(_ spec: LayerPassSpec, source: TensorRowSource, stagingFolder: String, staged: Bool) throws -> LlamaLayerWeights {
        let c = spec.shape, d = c.hiddenSize, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, f = c.intermediateSize
        func read(_ role: BlockTensorRole, _ shape: [Int]) throws -> [Float]? {
            guard let b = spec.tensor(role) else {
                if role.isOptional { return nil }
                throw RuntimeError.badInput("block \(spec.layer): the task names no \(role.rawValue) weight")
            }
            let e = b.tensor.entry
            guard e.shape == shape else { throw RuntimeError.badShape(b.tensor.name, expected: shape, got: e.shape) }
            if staged, let s = b.staged { return try decode(s, tensor: b.tensor, stagingFolder: stagingFolder) }
            return try source.readRows(b.tensor, start: 0, count: e.rows)
        }
        return LlamaLayerWeights(
            inputNorm: try read(.inputNorm, [d])!, postNorm: try read(.postNorm, [d])!,
            q: try read(.q, [qd, d])!, k: try read(.k, [kvd, d])!, v: try read(.v, [kvd, d])!, o: try read(.o, [d, qd])!,
            qBias: try read(.qBias, [qd]), kBias: try read(.kBias, [kvd]), vBias: try read(.vBias, [kvd]), oBias: try read(.oBias, [d]),
            gate: try read(.gate, [f, d])!, up: try read(.up, [f, d])!, down: try read(.down, [d, f])!,
            gateBias: try read(.gateBias, [f]), upBias: try read(.upBias, [f]), downBias: try read(.downBias, [d]))
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
        return x
    }
}
