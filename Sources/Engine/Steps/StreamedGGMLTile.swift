import Kernels

/// QUANTIZE of a tile of ggml blocks whose type has a fused error loop (Q4_0, Q8_0 on AVX2), a few rows at a
/// time: each piece of rows is read, widened, quantized straight into the tile's container and measured while it
/// is in cache, so the tile's floats never exist whole and are not streamed through memory three times. The bytes
/// and sums are those of QuantizeStep's whole-tile path: rows are encoded independently, and the pieces are whole
/// 4096-weight runs of ErrorSums.of, whose running sums carry from piece to piece.
enum StreamedGGMLTile {
    /// About this many floats per piece (256 KiB), to stay in a core's L2 with the raw rows and the blocks.
    static let pieceElements = 1 << 16

    /// Nil where the tile takes the whole-tile path: another layout, calibration, or no fused loop for its type.
    static func run(_ spec: QuantizeSpec, layout: QuantizedTensorLayout, source: TensorRowSource) throws -> QuantizeStep.Output? {
        guard spec.hessian == nil, let type = layout.ggml, type.hasFusedErrorSums, layout.granularity == .channel,
              layout.highColumns.isEmpty, let rowBytes = type.rowBytes(columns: layout.columns) else { return nil }
        let cols = layout.columns, n = spec.rowCount
        let pieceRows = pieceRows(columns: cols)
        let header = SafetensorsWriter.header(entries: [.init(name: TileCodec.ggmlBlocks, dtype: .u8, shape: [n, rowBytes], byteCount: n * rowBytes)],
                                              metadata: [:])
        let rotation = Rotation(layout.rotation)
        var floats = [Float](repeating: 0, count: min(n, pieceRows) * cols)
        var sums = (source: 0.0, error: 0.0, maxAbs: Float(0))
        let tile = try AlignedBytes(capacity: header.count + n * rowBytes) { out in
            out.copyMemory(from: header, byteCount: header.count)
            let blocks = out + header.count
            var row = 0
            while row < n {
                let k = min(pieceRows, n - row)
                try floats.withUnsafeMutableBufferPointer { f in
                    let piece = UnsafeMutableBufferPointer(rebasing: f[..<(k * cols)])
                    try source.readRows(spec.tensor, start: spec.rowStart + row, count: k, into: piece)
                    rotation.rotateRows(piece, rows: k)
                    TileCodec.encodeGGMLRows(piece.baseAddress!, rows: k, cols: cols, type: type, reference: layout.ggmlCodes == .reference,
                                             importance: spec.columnImportance, into: blocks + row * rowBytes)
                    _ = type.addErrorSums(piece.baseAddress!, blocks: blocks + row * rowBytes, count: k * cols, to: &sums)
                }
                row += k
            }
            return header.count + n * rowBytes
        }
        return QuantizeStep.Output(tile: tile, result: TileResult(sourceSumSquares: sums.source, errorSumSquares: sums.error, maxAbsError: sums.maxAbs,
                                                                  highElements: 0, elements: n * cols))
    }

    /// Rows per piece: a multiple of the rows that make whole 4096-weight runs, about `pieceElements` floats.
    static func pieceRows(columns: Int) -> Int {
        var a = max(columns, 1), b = ErrorSums.run
        while b != 0 { (a, b) = (b, a % b) }
        let step = ErrorSums.run / a
        return step * max(1, pieceElements / (step * max(columns, 1)))
    }
}
