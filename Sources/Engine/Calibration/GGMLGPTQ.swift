import COpenBLAS

/// GPTQ inside the ggml block formats. A row tile is rounded one ggml block of columns at a time, left to right.
/// Each block is first quantized by the format's own search, weighted by diag(H) as an importance matrix weights
/// it, on the weights as the errors of the columns before have left them: that fixes the block's scales (and
/// mins). Then its columns are rounded one at a time inside that fixed grid (GGMLFixedGridCodec: a * level - b),
/// each column's error spread over the columns not yet rounded through the upper Cholesky factor U of H⁻¹, as
/// GPTQ does: inside the block at once, beyond it in one gemm per block. Arithmetic is f64 in a fixed order on
/// OpenBLAS's single thread, so the bytes are the same on every machine.
public enum GGMLGPTQ {
    /// `w`: rows * cols values, row-major; `hessian`: cols * cols. Returns rows * rowBytes bytes of `type` blocks.
    public static func quantize(_ w: [Float], rows: Int, cols: Int, type: GGMLType, hessian: [Double], dampingFraction: Double,
                                reference: Bool = false) throws(CalibrationError) -> [UInt8] {
        _ = try grid(type, cols: cols)
        guard hessian.count >= cols * cols else { throw .badShape("\(hessian.count) Hessian entries for \(cols) columns") }
        let factor = try hessian.withUnsafeBufferPointer { (h) throws(CalibrationError) in
            try GPTQHessianFactor(hessian: h, cols: cols, dampingFraction: dampingFraction, actOrder: false)
        }
        return try quantize(w, rows: rows, cols: cols, type: type, factor: factor, importance: importanceWeights((0..<cols).map { hessian[$0 * cols + $0] }), reference: reference)
    }

    /// A row tile against its layer's factor (built without act-order: a block's columns stay together) and
    /// importance (`importanceWeights`), computed once for all the layer's tiles. Columns never active in the
    /// calibration text (H_ii = 0) keep their weights and are rounded to nearest: other text may use them.
    public static func quantize(_ w: [Float], rows: Int, cols: Int, type: GGMLType, factor: GPTQHessianFactor, importance: [Float],
                                reference: Bool = false) throws(CalibrationError) -> [UInt8] {
        let (grid, rowBytes) = try grid(type, cols: cols)
        guard rows > 0, cols > 0, rows <= Int(Int32.max) / cols, w.count >= rows * cols else { throw .badShape("\(w.count) weights for a \(rows) x \(cols) tile") }
        if let bad = w.prefix(rows * cols).firstIndex(where: { !$0.isFinite }) { throw .nonFinite("weight [\(bad / cols), \(bad % cols)] = \(w[bad])") }
        guard factor.cols == cols, !factor.actOrder, importance.count == cols else {
            throw .badShape("a factor for \(factor.cols) columns (act-order \(factor.actOrder)) and \(importance.count) importances for a tile of \(cols)")
        }
        let n = type.blockElements, blockBytes = type.blockBytes, sub = grid.gridSubBlockSize, subBlocks = n / sub
        let levels = grid.gridLevels.map(Double.init)
        let uniform = zip(levels, levels.dropFirst()).allSatisfy { $1 - $0 == 1 }
        let u = factor.upper
        var weights = w.prefix(rows * cols).map(Double.init)
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        var x = [Float](repeating: 0, count: n)
        var a = [Float](repeating: 0, count: rows * subBlocks), b = [Float](repeating: 0, count: rows * subBlocks)
        var codes = [UInt8](repeating: 0, count: rows * n)
        var errors = [Double](repeating: 0, count: rows * n)

        func nearest(_ t: Double) -> Int {
            if uniform { return Int(min(max((t - levels[0]).rounded(), 0), Double(levels.count - 1))) }
            var best = 0
            for c in 1..<levels.count where abs(levels[c] - t) < abs(levels[best] - t) { best = c }
            return best
        }

        for b0 in stride(from: 0, to: cols, by: n) {
            let k = b0 / n
            // The block's scales: the search on the weights as they are now.
            out.withUnsafeMutableBytes { o in
                importance.withUnsafeBufferPointer { imp in
                    a.withUnsafeMutableBufferPointer { a in
                        b.withUnsafeMutableBufferPointer { b in
                            for r in 0..<rows {
                                for i in 0..<n { x[i] = Float(weights[r * cols + b0 + i]) }
                                let block = o.baseAddress! + r * rowBytes + k * blockBytes
                                if reference { type.codec.quantizeReference(x, importance: imp.baseAddress! + b0, into: block) }
                                else { type.codec.quantize(x, importance: imp.baseAddress! + b0, into: block) }
                                grid.gridMaps(block, a: a.baseAddress! + r * subBlocks, b: b.baseAddress! + r * subBlocks)
                            }
                        }
                    }
                }
            }
            // Its columns in order, inside those scales.
            for i in 0..<n {
                let column = b0 + i, diagonal = u[column * cols + column], j = i / sub
                for r in 0..<rows {
                    let w = weights[r * cols + column], sa = Double(a[r * subBlocks + j]), sb = Double(b[r * subBlocks + j])
                    let c = sa != 0 ? nearest((w + sb) / sa) : nearest(0)
                    codes[r * n + i] = UInt8(c)
                    let error = (w - (sa * levels[c] - sb)) / diagonal
                    errors[r * n + i] = error
                    for l in (i + 1)..<max(n, i + 1) { weights[r * cols + b0 + l] -= error * u[column * cols + b0 + l] }
                }
            }
            out.withUnsafeMutableBytes { o in
                codes.withUnsafeBufferPointer { c in
                    for r in 0..<rows { grid.setGridCodes(o.baseAddress! + r * rowBytes + k * blockBytes, codes: c.baseAddress! + r * n) }
                }
            }
            // The rest of the row tile: W[:, rest] -= errors · U[block, rest].
            let rest = cols - b0 - n
            guard rest > 0 else { break }
            u.withUnsafeBufferPointer { u in
                weights.withUnsafeMutableBufferPointer { wt in
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(rest), Int32(n), -1,
                                errors, Int32(n), u.baseAddress! + b0 * cols + b0 + n, Int32(cols), 1, wt.baseAddress! + b0 + n, Int32(cols))
                }
            }
        }
        return out
    }

    private static func grid(_ type: GGMLType, cols: Int) throws(CalibrationError) -> (any GGMLFixedGridCodec.Type, Int) {
        guard let grid = type.fixedGrid, let rowBytes = type.rowBytes(columns: cols) else {
            throw .unsupported("\(type.rawValue) rows of \(cols) columns (a quantized type in whole blocks of \(type.blockElements) needed)")
        }
        return (grid, rowBytes)
    }

    /// diag(H) as the searches' per-column importance, floored at a millionth of its mean so that a column the
    /// text never reached still counts (an all-zero block would leave a search nothing to fit).
    static func importanceWeights(_ diagonalOfH: [Double]) -> [Float] {
        let diagonal = diagonalOfH.map { max($0, 0) }
        let floor = max(diagonal.reduce(0, +) / Double(diagonal.count) * 1e-6, Double.leastNormalMagnitude)
        return diagonal.map { Float(max($0, floor)) }
    }
}
