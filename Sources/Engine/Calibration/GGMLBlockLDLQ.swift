import COpenBLAS

/// GPTQ for the ggml block formats. A row tile is rounded one ggml block of columns at a time, left to right:
/// each block is first quantized by the format's own search (diag(H) weighting it, as an importance matrix does)
/// on the weights as the errors of the blocks before it have left them, which fixes its scales. Then:
/// - k-quants (Q2_K...Q6_K) keep those sub-block scales and mins and round the block's columns one at a time
///   inside that grid, each column's error spread over the columns not yet rounded through the upper Cholesky
///   factor U of H⁻¹, as GPTQ does (its scales chosen first, then rounding within them);
/// - the 32-weight formats (legacy, IQ4_NL) and IQ4_XS keep the search's codes too, and the block's error E goes
///   to the later columns as W[:, rest] -= E · U_bb⁻¹ · U_b,rest: GPTQ with a block's codes fixed together, the
///   block form QuIP# calls BlockLDLQ.
/// Arithmetic is f64 in a fixed order on OpenBLAS's single thread, as GPTQ's, so the bytes are the same on every
/// machine.
public enum GGMLBlockLDLQ {
    /// `w`: rows * cols values, row-major; `hessian`: cols * cols. Returns rows * rowBytes bytes of `type` blocks.
    /// Columns never active in the calibration text (H_ii = 0) keep their weights: other text may use them.
    public static func quantize(_ w: [Float], rows: Int, cols: Int, type: GGMLType, hessian: [Double], dampingFraction: Double,
                                reference: Bool = false) throws(CalibrationError) -> [UInt8] {
        _ = try rowBytes(type, cols: cols)
        guard hessian.count >= cols * cols else { throw .badShape("\(hessian.count) Hessian entries for \(cols) columns") }
        let factor = try hessian.withUnsafeBufferPointer { (h) throws(CalibrationError) in
            try GPTQHessianFactor(hessian: h, cols: cols, dampingFraction: dampingFraction, actOrder: false)
        }
        return try quantize(w, rows: rows, cols: cols, type: type, factor: factor, importance: importanceWeights(hessian, cols: cols), reference: reference)
    }

    /// A row tile against its layer's factor (built without act-order) and importance (`importanceWeights`),
    /// computed once for all the layer's tiles.
    public static func quantize(_ w: [Float], rows: Int, cols: Int, type: GGMLType, factor: GPTQHessianFactor, importance: [Float],
                                reference: Bool = false) throws(CalibrationError) -> [UInt8] {
        let rowBytes = try rowBytes(type, cols: cols)
        guard rows > 0, cols > 0, rows <= Int(Int32.max) / cols, w.count >= rows * cols else { throw .badShape("\(w.count) weights for a \(rows) x \(cols) tile") }
        if let bad = w.prefix(rows * cols).firstIndex(where: { !$0.isFinite }) { throw .nonFinite("weight [\(bad / cols), \(bad % cols)] = \(w[bad])") }
        guard factor.cols == cols, !factor.actOrder, importance.count == cols else {
            throw .badShape("a factor for \(factor.cols) columns (act-order \(factor.actOrder)) and \(importance.count) importances for a tile of \(cols)")
        }
        let n = type.blockElements, blockBytes = type.blockBytes
        let grid = KQuantFixedGrid.shape(of: type)
        let u = factor.upper
        var weights = w.prefix(rows * cols).map(Double.init)
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        var x = [Float](repeating: 0, count: n), q = [Float](repeating: 0, count: n)
        var errors = [Double](repeating: 0, count: rows * n)
        for b0 in stride(from: 0, to: cols, by: n) {
            let k = b0 / n
            importance.withUnsafeBufferPointer { imp in
                out.withUnsafeMutableBytes { o in
                    for r in 0..<rows {
                        for i in 0..<n { x[i] = Float(weights[r * cols + b0 + i]) }
                        let block = o.baseAddress! + r * rowBytes + k * blockBytes
                        if reference { type.codec.quantizeReference(x, importance: imp.baseAddress! + b0, into: block) }
                        else { type.codec.quantize(x, importance: imp.baseAddress! + b0, into: block) }
                        guard grid == nil else { continue }
                        type.codec.dequantize(block, into: &q)
                        for i in 0..<n { errors[r * n + i] = weights[r * cols + b0 + i] - Double(q[i]) }
                    }
                }
            }
            if let grid {
                roundColumns(&weights, rows: rows, cols: cols, block: b0, type: type, grid: grid, u: u, blocks: &out, rowBytes: rowBytes,
                             errors: &errors)
            }
            let rest = cols - b0 - n
            guard rest > 0 else { break }
            u.withUnsafeBufferPointer { u in
                let ubb = u.baseAddress! + b0 * cols + b0
                // Block codes: E · U_bb⁻¹ in place (column rounding already left its errors scaled).
                if grid == nil {
                    cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, Int32(rows), Int32(n), 1,
                                ubb, Int32(cols), &errors, Int32(n))
                }
                // W[:, rest] -= errors · U_b,rest
                weights.withUnsafeMutableBufferPointer { wt in
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(rest), Int32(n), -1,
                                errors, Int32(n), ubb + n, Int32(cols), 1, wt.baseAddress! + b0 + n, Int32(cols))
                }
            }
        }
        return out
    }

    /// GPTQ inside one k-quant block whose scales the search fixed: column by column, the nearest code under the
    /// row's sub-block map a * q - b, the error (w - value) / U_ii kept in `errors` and spread over the block's
    /// later columns; the codes then replace the search's in each row's block.
    private static func roundColumns(_ weights: inout [Double], rows: Int, cols: Int, block b0: Int, type: GGMLType,
                                     grid: (subBlockSize: Int, codes: ClosedRange<Int32>), u: [Double], blocks out: inout [UInt8],
                                     rowBytes: Int, errors: inout [Double]) {
        let n = 256, sub = grid.subBlockSize, subBlocks = n / sub
        let lo = Double(grid.codes.lowerBound), hi = Double(grid.codes.upperBound)
        let k = b0 / n, blockBytes = type.blockBytes
        var a = [Float](repeating: 0, count: rows * subBlocks), b = [Float](repeating: 0, count: rows * subBlocks)
        out.withUnsafeBytes { o in
            a.withUnsafeMutableBufferPointer { a in
                b.withUnsafeMutableBufferPointer { b in
                    for r in 0..<rows {
                        KQuantFixedGrid.affine(type, block: o.baseAddress! + r * rowBytes + k * blockBytes,
                                               a: a.baseAddress! + r * subBlocks, b: b.baseAddress! + r * subBlocks)
                    }
                }
            }
        }
        var codes = [Float](repeating: 0, count: rows * n)
        for i in 0..<n {
            let column = b0 + i, diagonal = u[column * cols + column], j = i / sub
            for r in 0..<rows {
                let w = weights[r * cols + column], sa = Double(a[r * subBlocks + j]), sb = Double(b[r * subBlocks + j])
                let code = sa != 0 ? min(max(((w + sb) / sa).rounded(), lo), hi) : min(max(0, lo), hi)
                codes[r * n + i] = Float(code)
                let error = (w - (sa * code - sb)) / diagonal
                errors[r * n + i] = error
                for l in (i + 1)..<max(n, i + 1) { weights[r * cols + b0 + l] -= error * u[column * cols + b0 + l] }
            }
        }
        out.withUnsafeMutableBytes { o in
            codes.withUnsafeBufferPointer { c in
                for r in 0..<rows { KQuantFixedGrid.setCodes(type, block: o.baseAddress! + r * rowBytes + k * blockBytes, codes: c.baseAddress! + r * n) }
            }
        }
    }

    private static func rowBytes(_ type: GGMLType, cols: Int) throws(CalibrationError) -> Int {
        guard type.isQuantized, let rowBytes = type.rowBytes(columns: cols) else {
            throw .unsupported("\(type.rawValue) rows of \(cols) columns (whole blocks of \(type.blockElements) needed)")
        }
        return rowBytes
    }

    /// diag(H) as the searches' per-column importance, floored at a millionth of its mean so that a column the
    /// text never reached still counts (an all-zero block would leave a search nothing to fit).
    static func importanceWeights(_ hessian: [Double], cols: Int) -> [Float] {
        let diagonal = (0..<cols).map { max(hessian[$0 * cols + $0], 0) }
        let floor = max(diagonal.reduce(0, +) / Double(cols) * 1e-6, Double.leastNormalMagnitude)
        return diagonal.map { Float(max($0, floor)) }
    }
}
