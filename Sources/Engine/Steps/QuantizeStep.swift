/// QUANTIZE one row tile: read, rotate, split into the high and low shares, quantize (to nearest, or by GPTQ
/// against the summed H of a calibrated tile), pack, and measure the error of exactly what was packed. The output
/// is the tile's container bytes; the caller stores them.
public enum QuantizeStep {
    public struct Output: Sendable {
        public var tile: AlignedBytes  // a safetensors container of the tile's arrays, ready to be written past the cache
        public var result: TileResult
    }

    /// `stagingFolder`: where a calibrated tile's H shards are read from.
    public static func run(_ spec: QuantizeSpec, source: TensorRowSource, stagingFolder: String) throws -> Output {
        let layout = QuantizedTensorLayout(spec: spec)
        if let streamed = try StreamedGGMLTile.run(spec, layout: layout, source: source) { return streamed }
        let cols = layout.columns, n = spec.rowCount
        var x = try source.readRows(spec.tensor, start: spec.rowStart, count: n)
        let rotation = Rotation(layout.rotation)
        x.withUnsafeMutableBufferPointer { rotation.rotateRows($0, rows: n) }
        let arrays = try spec.hessian.map { try CalibratedTile.encode(x, rows: n, layout: layout, hessian: $0, stagingFolder: stagingFolder) }
            ?? x.withUnsafeBufferPointer {
                TileCodec.encode($0, rows: n, layout: layout, elementThreshold: spec.analysis.elementThreshold, clusters: spec.analysis.clusters,
                                 columnImportance: spec.columnImportance)
            }
        let byName = Dictionary(uniqueKeysWithValues: arrays.map { ($0.name, $0) })
        // G is orthogonal, so the error in the rotated basis is the error of the reconstructed weights.
        let (s, e, maxErr) = try x.withUnsafeBufferPointer { (p) throws(PackageError) in
            try TileCodec.errorSums(p, byName, rows: n, layout: layout, file: "tile \(spec.rowStart)+\(n) encoded in memory", tensor: spec.tensor.name)
        }
        let high: Int
        switch layout.granularity {
        case .channel: high = layout.highColumns.count * n
        case .element: high = Int(byName["sparse.columns"]!.shape[0])
        }
        return Output(tile: AlignedBytes(copying: SafetensorsWriter.encode(arrays)),
                      result: TileResult(sourceSumSquares: s, errorSumSquares: e, maxAbsError: maxErr, highElements: high, elements: n * cols))
    }
}
