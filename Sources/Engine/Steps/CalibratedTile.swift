/// A calibrated QUANTIZE tile's arrays: the tile's rows rounded to the layout's grid (a ggml type, or one
/// symmetric group-wise int part; no rotation) against the block's H, summed from the CAPTURE shards: by GPTQ, or,
/// as the cheap baseline GPTQ is measured against, with scales chosen under diag(H) (an importance matrix). H and
/// its factor come from the worker's HessianCache. The arrays are those TileCodec writes for the same layout, so
/// the assembler and every reader take them as any other tile.
enum CalibratedTile {
    static func encode(_ x: [Float], rows: Int, layout: QuantizedTensorLayout, hessian: HessianInput, stagingFolder: String) throws -> [NamedArray] {
        if let type = layout.ggml { return [try encodeGGML(x, rows: rows, type: type, layout: layout, hessian: hessian, stagingFolder: stagingFolder)] }
        guard layout.high == nil, layout.granularity == .channel, layout.rotation.isIdentity, layout.low.symmetric,
              [.int8, .int4, .int3, .int2].contains(layout.low.format) else {
            throw CalibrationError.unsupported("tensor '\(layout.name)': calibrated rounding takes one symmetric int8/4/3/2 part without rotation, not this layout")
        }
        let cols = layout.columns
        let tile: QuantizedTile
        do {
            switch hessian.rounding {
            case .gptq:
                let options = GPTQOptions(format: layout.low.format, groupSize: layout.low.groupSize, dampingFraction: hessian.damping,
                                          blockSize: hessian.blockSize, actOrder: hessian.actOrder)
                let factor = try HessianCache.shared.factor(hessian, columns: cols, stagingFolder: stagingFolder, actOrder: hessian.actOrder)
                tile = try GPTQ.quantize(x, rows: rows, cols: cols, factor: factor, options: options)
            case .diagonalImportance:
                let diagonal = try HessianCache.shared.diagonal(hessian, columns: cols, stagingFolder: stagingFolder)
                tile = try ImportanceQuantizer.quantize(x, rows: rows, cols: cols, importance: diagonal.map { Float($0) },
                                                        format: layout.low.format, groupSize: layout.low.groupSize)
            }
        } catch {
            throw CalibrationError.unsupported("tensor '\(layout.name)': \(error)")
        }
        let groups = tile.scales.count / max(rows, 1)
        return [NamedArray(name: "lo.codes", dtype: .u8, shape: [rows, tile.codes.count / max(rows, 1)], bytes: tile.codes),
                NamedArray(name: "lo.scales", halfBits: tile.scales, shape: [rows, groups])]
    }

    /// A ggml-format tile: whole blocks rounded by GGMLGPTQ, or each block searched under diag(H) as
    /// llama-quantize --imatrix searches under its importance matrix.
    private static func encodeGGML(_ x: [Float], rows: Int, type: GGMLType, layout: QuantizedTensorLayout, hessian: HessianInput,
                                   stagingFolder: String) throws -> NamedArray {
        guard layout.rotation.isIdentity else { throw CalibrationError.unsupported("tensor '\(layout.name)': calibrated rounding of a rotated ggml tile") }
        let cols = layout.columns
        let importance = GGMLGPTQ.importanceWeights(try HessianCache.shared.diagonal(hessian, columns: cols, stagingFolder: stagingFolder))
        let reference = layout.ggmlCodes == .reference
        switch hessian.rounding {
        case .gptq:
            let bytes: [UInt8]
            do {
                let factor = try HessianCache.shared.factor(hessian, columns: cols, stagingFolder: stagingFolder, actOrder: false)
                bytes = try GGMLGPTQ.quantize(x, rows: rows, cols: cols, type: type, factor: factor, importance: importance, reference: reference)
            } catch {
                throw CalibrationError.unsupported("tensor '\(layout.name)': \(error)")
            }
            return NamedArray(name: TileCodec.ggmlBlocks, dtype: .u8, shape: [rows, bytes.count / max(rows, 1)], bytes: bytes)
        case .diagonalImportance:
            return x.withUnsafeBufferPointer {
                TileCodec.encodeGGML($0, rows: rows, cols: cols, type: type, reference: reference, importance: importance)
            }
        }
    }
}
