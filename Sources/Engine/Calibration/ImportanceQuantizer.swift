/// Round-to-nearest with scales chosen under a per-column importance (diag(H) of the layer's inputs, as llama.cpp's
/// imatrix): the cheap calibrated baseline GPTQ is compared with. Same grid and layout as GPTQ's tiles.
public enum ImportanceQuantizer {
    /// `w`: rows * cols values, row-major; `importance`: cols non-negative weights (all 0 falls back to equal ones).
    public static func quantize(_ w: [Float], rows: Int, cols: Int, importance: [Float], format: QuantFormat,
                                groupSize: Int? = nil) throws(CalibrationError) -> QuantizedTile {
        let g = groupSize ?? format.defaultGroupSize
        guard rows > 0, cols > 0, w.count >= rows * cols else { throw .badShape("\(w.count) weights for a \(rows) x \(cols) tile") }
        guard importance.count == cols else { throw .badShape("\(importance.count) importances for \(cols) columns") }
        guard [.int8, .int4, .int3, .int2].contains(format) else { throw .unsupported("importance-weighted \(format.rawValue)") }
        guard g > 0 else { throw .badShape("group size \(g)") }
        if let bad = w.prefix(rows * cols).firstIndex(where: { !$0.isFinite }) { throw .nonFinite("weight [\(bad / cols), \(bad % cols)] = \(w[bad])") }
        if let bad = importance.firstIndex(where: { !$0.isFinite || $0 < 0 }) { throw .nonFinite("importance [\(bad)] = \(importance[bad]) (finite, >= 0 needed)") }

        let weights = importance.allSatisfy { $0 == 0 } ? [Float](repeating: 1, count: cols) : importance
        let search = ImportanceScaleSearch(format: format)
        let grid = SymmetricGrid(format: format, rule: .search)
        let groups = (cols + g - 1) / g
        var scales = [UInt16](repeating: 0, count: rows * groups)
        var codes = [Int8](repeating: 0, count: rows * cols)
        w.withUnsafeBufferPointer { w in
            weights.withUnsafeBufferPointer { importance in
                for r in 0..<rows {
                    for group in 0..<groups {
                        let start = group * g, count = Swift.min(g, cols - start)
                        let scale = search.search(w.baseAddress! + r * cols + start, importance: importance.baseAddress! + start, count: count)
                        scales[r * groups + group] = scale
                        for j in start..<(start + count) { codes[r * cols + j] = grid.level(Double(w[r * cols + j]), scale: scale) }
                    }
                }
            }
        }
        return grid.tile(codes: codes, order: Array(0..<cols), scales: scales, rows: rows, cols: cols, groupSize: g)
    }
}
