import COpenBLAS

/// What GPTQ takes from a layer's H, computed once and shared by all the layer's row tiles (the factorizations
/// cost O(cols³), a tile's rounding O(rows · cols²)): the column order, the never-active columns, and the upper
/// Cholesky factor U of (H + λI)⁻¹ = UᵀU in that order, λ = damping fraction * mean(diag H).
public struct GPTQHessianFactor: Sendable {
    public let cols: Int
    public let dampingFraction: Double
    public let actOrder: Bool
    /// order[j]: the source column quantized j-th (decreasing H_ii under act-order, ties by column; else identity).
    public let order: [Int]
    /// Source columns with H_ii = 0: stored as 0, their H_ii taken as 1 so H stays factorable.
    public let deadColumns: [Int]
    /// U, row-major, in working order, zeros below the diagonal.
    let upper: [Double]

    /// `hessian`: cols * cols, row-major, symmetric positive semi-definite.
    public init(hessian: UnsafeBufferPointer<Double>, cols: Int, options: GPTQOptions) throws(CalibrationError) {
        try self.init(hessian: hessian, cols: cols, dampingFraction: options.dampingFraction, actOrder: options.actOrder)
    }

    public init(hessian: UnsafeBufferPointer<Double>, cols: Int, dampingFraction: Double, actOrder: Bool) throws(CalibrationError) {
        guard cols > 0, cols <= 1 << 16 else { throw .badShape("\(cols) columns") }
        guard hessian.count >= cols * cols else { throw .badShape("\(hessian.count) Hessian entries for \(cols) columns (\(cols * cols) needed)") }
        guard dampingFraction.isFinite, dampingFraction >= 0 else { throw .nonFinite("damping fraction \(dampingFraction)") }
        if let bad = (0..<(cols * cols)).first(where: { !hessian[$0].isFinite }) {
            throw .nonFinite("Hessian [\(bad / cols), \(bad % cols)] = \(hessian[bad])")
        }
        if let bad = (0..<cols).first(where: { hessian[$0 * cols + $0] < 0 }) {
            throw .notPositiveDefinite("Hessian diagonal [\(bad)] = \(hessian[bad * cols + bad]) is negative")
        }
        // One working copy of H becomes U in place: at a frontier width (53,248 columns, 22.7 GB in f64) the
        // factorization holds H and this one copy, never more.
        var h = Array(hessian.prefix(cols * cols))
        deadColumns = (0..<cols).filter { h[$0 * cols + $0] == 0 }
        for j in deadColumns { h[j * cols + j] = 1 }
        if actOrder {
            order = (0..<cols).sorted { h[$0 * cols + $0] > h[$1 * cols + $1] || (h[$0 * cols + $0] == h[$1 * cols + $1] && $0 < $1) }
            Self.permuteSymmetric(&h, n: cols, order: order)
        } else {
            order = Array(0..<cols)
        }
        try Self.inverseCholeskyUpper(&h, n: cols, dampingFraction: dampingFraction)
        upper = h
        self.cols = cols
        self.dampingFraction = dampingFraction
        self.actOrder = actOrder
    }

    /// h[i][j] = h[order[i]][order[j]], in place with one row of scratch: rows moved along the permutation's
    /// cycles, then each row's columns gathered.
    static func permuteSymmetric(_ h: inout [Double], n: Int, order: [Int]) {
        var row = [Double](repeating: 0, count: n)
        var placed = [Bool](repeating: false, count: n)
        h.withUnsafeMutableBufferPointer { a in
            for start in 0..<n where !placed[start] {
                // Row i takes old row order[i]: walk i -> order[i] -> ..., carrying the first row round the cycle.
                for c in 0..<n { row[c] = a[start * n + c] }
                var i = start
                while order[i] != start {
                    let from = order[i]
                    for c in 0..<n { a[i * n + c] = a[from * n + c] }
                    placed[i] = true
                    i = from
                }
                for c in 0..<n { a[i * n + c] = row[c] }
                placed[i] = true
            }
            for i in 0..<n {
                for j in 0..<n { row[j] = a[i * n + order[j]] }
                for j in 0..<n { a[i * n + j] = row[j] }
            }
        }
    }

    /// H (damped) becomes U in place: Cholesky, the inverse from the factor (potri), then the inverse's upper
    /// Cholesky factor, as the GPTQ reference does: no explicit inverse of H is formed from scratch.
    static func inverseCholeskyUpper(_ a: inout [Double], n: Int, dampingFraction: Double) throws(CalibrationError) {
        var mean = 0.0
        for j in 0..<n { mean += a[j * n + j] }
        mean /= Double(n)
        let damping = dampingFraction * mean
        for j in 0..<n { a[j * n + j] += damping }
        let lower = Int8(UInt8(ascii: "L")), upper = Int8(UInt8(ascii: "U"))
        // H is symmetric, so row-major is column-major: LAPACK's lower triangle is our upper one and back.
        var info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, lower, Int32(n), &a, Int32(n))
        guard info == 0 else { throw .notPositiveDefinite("Cholesky of H + \(damping) I failed at column \(info)") }
        info = LAPACKE_dpotri(LAPACK_COL_MAJOR, lower, Int32(n), &a, Int32(n))
        guard info == 0 else { throw .notPositiveDefinite("H + \(damping) I is singular at column \(info)") }
        // The inverse sits in LAPACK's lower triangle, our upper one; mirrored so the next factorization reads it whole.
        for i in 0..<n { for j in 0..<i { a[i * n + j] = a[j * n + i] } }
        info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, upper, Int32(n), &a, Int32(n))
        guard info == 0 else { throw .notPositiveDefinite("Cholesky of (H + \(damping) I)⁻¹ failed at column \(info)") }
        // LAPACK's upper (i <= j) element (i, j) is at a[j * n + i]: moved to row-major a[i * n + j], zeros below.
        for i in 0..<n {
            for j in 0..<i {
                a[j * n + i] = a[i * n + j]
                a[i * n + j] = 0
            }
        }
    }
}
