/// A calibrated QUANTIZE tile's arrays: GPTQ rounds the tile's rows to the layout's low part (symmetric, group-wise,
/// every column, no rotation) against the block's H, summed from the CAPTURE shards. The arrays are those TileCodec
/// writes for the same layout, so the assembler and every reader take them as any other tile.
enum GPTQTile {
    static func encode(_ x: [Float], rows: Int, layout: QuantizedTensorLayout, hessian: HessianInput, stagingFolder: String) throws -> [NamedArray] {
        guard layout.ggml == nil, layout.high == nil, layout.granularity == .channel, layout.rotation.isIdentity, layout.low.symmetric,
              [.int8, .int4, .int3, .int2].contains(layout.low.format) else {
            throw CalibrationError.unsupported("tensor '\(layout.name)': GPTQ rounds one symmetric int8/4/3/2 part without rotation, not this layout")
        }
        let cols = layout.columns
        let h = try CalibrationFiles.sumHessians(hessian.shards, columns: cols, stagingFolder: stagingFolder)
        let options = GPTQOptions(format: layout.low.format, groupSize: layout.low.groupSize, dampingFraction: hessian.damping,
                                  blockSize: hessian.blockSize, actOrder: hessian.actOrder)
        let tile: QuantizedTile
        do { tile = try GPTQ.quantize(x, rows: rows, cols: cols, hessian: h, options: options) } catch {
            throw CalibrationError.unsupported("tensor '\(layout.name)': \(error)")
        }
        let groups = tile.scales.count / max(rows, 1)
        return [NamedArray(name: "lo.codes", dtype: .u8, shape: [rows, tile.codes.count / max(rows, 1)], bytes: tile.codes),
                NamedArray(name: "lo.scales", halfBits: tile.scales, shape: [rows, groups])]
    }
}
