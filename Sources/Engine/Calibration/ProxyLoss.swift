/// The layer-output error calibrated quantization minimises: tr((W - Q) H (W - Q)ᵀ) = Σ_rows eᵀ H e, which is
/// ‖(W - Q) Xᵀ‖² when H = XᵀX. In f64, rows in order, so it compares quantizers exactly.
public enum ProxyLoss {
    public static func of(_ w: [Float], _ q: [Float], rows: Int, cols: Int, hessian: [Double]) throws(CalibrationError) -> Double {
        guard rows >= 0, cols >= 0, w.count >= rows * cols, q.count >= rows * cols, hessian.count >= cols * cols else {
            throw .badShape("\(w.count) and \(q.count) values and \(hessian.count) Hessian entries for \(rows) x \(cols)")
        }
        var total = 0.0
        var e = [Double](repeating: 0, count: cols)
        for r in 0..<rows {
            for j in 0..<cols { e[j] = Double(w[r * cols + j]) - Double(q[r * cols + j]) }
            for i in 0..<cols where e[i] != 0 {
                var s = 0.0
                for j in 0..<cols { s += hessian[i * cols + j] * e[j] }
                total += e[i] * s
            }
        }
        return total
    }
}
