import COpenBLAS

/// How GPTQ picks a group's scale when it reaches the group.
public enum GPTQScaleRule: String, Sendable, Codable {
    /// d = max|w| / maxCode, as the GPTQ paper's min-max quantizer (symmetric).
    case absMax
    /// The engine's data-free error-minimising search (SymmetricScaleSearch), the scales RTN uses.
    case search
}

public struct GPTQOptions: Sendable, Equatable {
    /// int8, int4, int3 or int2, always symmetric (w ≈ q * d, q in -maxCode...maxCode, f16 d per group).
    public var format: QuantFormat
    public var groupSize: Int
    /// Added to H's diagonal as this fraction of its mean diagonal.
    public var dampingFraction: Double
    /// Columns per lazy batch; rounded up to a multiple of the group size, so a group never straddles two batches
    /// and its scale is taken from fully error-updated weights.
    public var blockSize: Int
    /// Quantize columns in order of decreasing H_ii, with every group's scale fixed beforehand from the original
    /// weights in the original column order (GPTQModel's static_groups): the stored layout stays the plain one.
    public var actOrder: Bool
    public var scaleRule: GPTQScaleRule

    public init(format: QuantFormat, groupSize: Int? = nil, dampingFraction: Double = 0.01, blockSize: Int = 128,
                actOrder: Bool = false, scaleRule: GPTQScaleRule = .search) {
        self.format = format
        self.groupSize = groupSize ?? format.defaultGroupSize
        self.dampingFraction = dampingFraction
        self.blockSize = blockSize
        self.actOrder = actOrder
        self.scaleRule = scaleRule
    }
}

/// GPTQ (Frantar et al. 2022; LDLQ in QuIP's terms): rounds a row tile W [rows x cols] column by column to a
/// group-wise symmetric grid, each column's rounding error spread over the columns not yet quantized through the
/// upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU, H = XᵀX of the layer's inputs), which minimises
/// tr((W - Q) H (W - Q)ᵀ) one column at a time. Updates inside a batch of columns are rank-1; the rest of the row
/// tile gets them in one gemm per batch. Arithmetic is f64 (f32 for the rounding itself, as RTN's), in a fixed
/// order on OpenBLAS's single thread, so the codes are the same bytes on every machine.
public enum GPTQ {
    /// `w`: rows * cols values, row-major. `hessian`: cols * cols, symmetric positive semi-definite (only what
    /// H + damping makes positive definite is accepted). Columns with H_ii = 0 (never active) are quantized as 0.
    public static func quantize(_ w: [Float], rows: Int, cols: Int, hessian: [Double], options: GPTQOptions) throws(CalibrationError) -> QuantizedTile {
        let factor = try hessian.withUnsafeBufferPointer { (h) throws(CalibrationError) in
            try GPTQHessianFactor(hessian: h, cols: cols, options: options)
        }
        return try quantize(w, rows: rows, cols: cols, factor: factor, options: options)
    }

    /// A row tile against a factor computed once for its layer; `options` must be those the factor was built with.
    public static func quantize(_ w: [Float], rows: Int, cols: Int, factor: GPTQHessianFactor, options: GPTQOptions) throws(CalibrationError) -> QuantizedTile {
        try validate(w, rows: rows, cols: cols, factor: factor, options: options)
        let g = options.groupSize
        let block = (Swift.max(options.blockSize, 1) + g - 1) / g * g
        let grid = SymmetricGrid(format: options.format, rule: options.scaleRule)
        let order = factor.order
        let u = factor.upper

        var weights = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows { for j in 0..<cols { weights[r * cols + j] = Double(w[r * cols + j]) } }
        for j in factor.deadColumns { for r in 0..<rows { weights[r * cols + j] = 0 } }

        // Scales fixed up front from the original columns (act-order), or found as each group is reached.
        let groups = (cols + g - 1) / g
        var scales = [UInt16](repeating: 0, count: rows * groups)
        if options.actOrder {
            for group in 0..<groups {
                let start = group * g, count = Swift.min(g, cols - start)
                for r in 0..<rows {
                    scales[r * groups + group] = grid.scale(weights[(r * cols + start)...].prefix(count))
                }
            }
            let original = weights
            for r in 0..<rows { for (j, source) in order.enumerated() { weights[r * cols + j] = original[r * cols + source] } }
        }

        var codes = [Int8](repeating: 0, count: rows * cols)   // in the working (possibly permuted) order
        var batch = [Double](repeating: 0, count: rows * block)
        var errors = [Double](repeating: 0, count: rows * block)

        for i1 in stride(from: 0, to: cols, by: block) {
            let i2 = Swift.min(i1 + block, cols), width = i2 - i1
            for r in 0..<rows { for i in 0..<width { batch[r * width + i] = weights[r * cols + i1 + i] } }
            for i in 0..<width {
                let column = i1 + i
                if !options.actOrder, column % g == 0 {
                    let group = column / g, count = Swift.min(g, cols - column)
                    for r in 0..<rows { scales[r * groups + group] = grid.scale(batch[(r * width + i)...].prefix(count)) }
                }
                let group = order[column] / g
                let diagonal = u[column * cols + column]
                u.withUnsafeBufferPointer { u in
                    batch.withUnsafeMutableBufferPointer { batch in
                        let uRow = u.baseAddress! + column * cols + i1
                        for r in 0..<rows {
                            let row = batch.baseAddress! + r * width
                            let scale = scales[r * groups + group]
                            let q = grid.level(row[i], scale: scale)
                            codes[r * cols + column] = q
                            let error = (row[i] - Double(q) * Double(HalfPrecision.f16ToFloat(scale))) / diagonal
                            errors[r * width + i] = error
                            // Rank-1 update of the batch's later columns.
                            for j in (i + 1)..<Swift.max(width, i + 1) { row[j] -= error * uRow[j] }
                        }
                    }
                }
            }
            if i2 < cols {
                // W[:, i2:] -= E · U[i1:i2, i2:]
                errors.withUnsafeBufferPointer { e in
                    u.withUnsafeBufferPointer { u in
                        weights.withUnsafeMutableBufferPointer { wt in
                            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(cols - i2), Int32(width), -1,
                                        e.baseAddress!, Int32(width), u.baseAddress! + i1 * cols + i2, Int32(cols), 1,
                                        wt.baseAddress! + i2, Int32(cols))
                        }
                    }
                }
            }
        }
        return grid.tile(codes: codes, order: order, scales: scales, rows: rows, cols: cols, groupSize: g)
    }

    private static func validate(_ w: [Float], rows: Int, cols: Int, factor: GPTQHessianFactor, options: GPTQOptions) throws(CalibrationError) {
        guard rows > 0, cols > 0, rows <= Int(Int32.max) / cols else { throw .badShape("tile \(rows) x \(cols)") }
        guard w.count >= rows * cols else { throw .badShape("\(w.count) weights for a \(rows) x \(cols) tile") }
        guard factor.cols == cols else { throw .badShape("a Hessian factor for \(factor.cols) columns, a tile of \(cols)") }
        guard factor.dampingFraction == options.dampingFraction, factor.actOrder == options.actOrder else {
            throw .unsupported("a Hessian factor built with damping \(factor.dampingFraction), act-order \(factor.actOrder) used with \(options.dampingFraction), \(options.actOrder)")
        }
        guard [.int8, .int4, .int3, .int2].contains(options.format) else { throw .unsupported("GPTQ to \(options.format.rawValue)") }
        guard options.groupSize > 0 else { throw .badShape("group size \(options.groupSize)") }
        if let bad = w.prefix(rows * cols).firstIndex(where: { !$0.isFinite }) {
            throw .nonFinite("weight [\(bad / cols), \(bad % cols)] = \(w[bad])")
        }
    }
}
