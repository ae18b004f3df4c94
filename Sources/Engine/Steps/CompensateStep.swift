import COpenBLAS

/// COMPENSATE one tensor: a rank-r correction A B of the residual W - W^ (ZeroQuant-V2's LoRC, LQER), found by a
/// randomized SVD that streams the residual tile by tile, so memory stays O((rows + columns) * r).
public enum CompensateStep {
    public struct Output: Sendable {
        public var arrays: [UInt8]     // container with "lowrank.a" [rows, r] and "lowrank.b" [r, columns], f16
        public var result: CompensationResult
    }

    /// `tile(k)` returns the arrays of the k-th QUANTIZE tile of this tensor.
    public static func run(_ spec: CompensateSpec, source: TensorRowSource, tile: (Int) throws -> [String: NamedArray]) throws -> Output {
        let layout = spec.layout
        let rows = layout.rows, cols = layout.columns
        let r = min(spec.rank, rows, cols)
        let k = min(r + 8, rows, cols)
        let rotation = Rotation(layout.rotation)
        let tiles = (rows + spec.tileRows - 1) / spec.tileRows

        // The residual of tile t, row-major n x cols.
        func residual(_ t: Int) throws -> (start: Int, n: Int, values: [Float], sourceSS: Double) {
            let start = t * spec.tileRows, n = min(spec.tileRows, rows - start)
            var w = try source.readRows(spec.tensor, start: start, count: n)
            var q = [Float](repeating: 0, count: n * cols)
            let arrays = try tile(t)
            try q.withUnsafeMutableBufferPointer { (p) throws(PackageError) in
                try TileCodec.decode(arrays, rows: n, layout: layout, into: p, file: "staged tile \(t)", tensor: spec.tensor.name)
                rotation.unrotateRows(p, rows: n)
            }
            var ss = 0.0
            for i in 0..<n * cols { ss += Double(w[i]) * Double(w[i]); w[i] -= q[i] }
            return (start, n, w, ss)
        }

        // Y = R Omega (rows x k, column-major), then one power iteration: Z = R^T Y, Y = R Z.
        var omega = LowRank.gaussian(count: cols * k, seed: SeedDerivation.seed(for: spec.tensor.name, salt: 0xC0C0))
        var y = [Float](repeating: 0, count: rows * k)
        var sourceSS = 0.0, beforeSS = 0.0
        for t in 0..<tiles {
            let (start, n, res, ss) = try residual(t)
            sourceSS += ss
            for v in res { beforeSS += Double(v) * Double(v) }
            // y[start..start+n, :] = res (n x cols, row-major) * omega (cols x k, column-major)
            multiply(res, n: n, cols: cols, by: omega, k: k, into: &y, rowOffset: start, ldy: rows)
        }
        LowRank.orthonormalize(&y, m: rows, k: k)
        var z = [Float](repeating: 0, count: cols * k)
        for t in 0..<tiles {
            let (start, n, res, _) = try residual(t)
            multiplyTransposed(res, n: n, cols: cols, q: y, rowOffset: start, ldq: rows, k: k, into: &z)
        }
        LowRank.orthonormalize(&z, m: cols, k: k)
        omega = z
        y = [Float](repeating: 0, count: rows * k)
        for t in 0..<tiles {
            let (start, n, res, _) = try residual(t)
            multiply(res, n: n, cols: cols, by: omega, k: k, into: &y, rowOffset: start, ldy: rows)
        }
        LowRank.orthonormalize(&y, m: rows, k: k)
        // B = Q^T R (k x cols): accumulated as (R^T Q)^T.
        var bt = [Float](repeating: 0, count: cols * k)   // cols x k column-major = R^T Q
        for t in 0..<tiles {
            let (start, n, res, _) = try residual(t)
            multiplyTransposed(res, n: n, cols: cols, q: y, rowOffset: start, ldq: rows, k: k, into: &bt)
        }
        // SVD of B^T (cols x k) = V S U~^T, so B = U~ S V^T; the correction is (Q U~ S)[:, :r] (V^T)[:r, :].
        let (v, s, utT) = LowRank.svd(bt, m: cols, n: k)
        var aBits = [UInt16](repeating: 0, count: rows * r)       // row-major rows x r
        var bBits = [UInt16](repeating: 0, count: r * cols)       // row-major r x cols
        var a = [Float](repeating: 0, count: rows * r)
        var b = [Float](repeating: 0, count: r * cols)
        for j in 0..<r {
            // column j of Q U~ is Q * (row j of utT)^T, since utT = U~^T (k x k, column-major).
            for i in 0..<rows {
                var acc: Float = 0
                for l in 0..<k { acc += y[l * rows + i] * utT[l * k + j] }
                a[i * r + j] = acc * s[j]
            }
            for c in 0..<cols { b[j * cols + c] = v[j * cols + c] }
        }
        for i in 0..<a.count { aBits[i] = HalfPrecision.floatToF16(a[i]); a[i] = HalfPrecision.f16ToFloat(aBits[i]) }
        for i in 0..<b.count { bBits[i] = HalfPrecision.floatToF16(b[i]); b[i] = HalfPrecision.f16ToFloat(bBits[i]) }

        // The error after compensation, with the stored (f16-rounded) factors.
        var afterSS = 0.0
        for t in 0..<tiles {
            let (start, n, res, _) = try residual(t)
            var res2 = res
            for i in 0..<n {
                for j in 0..<r {
                    let aij = a[(start + i) * r + j]
                    if aij == 0 { continue }
                    for c in 0..<cols { res2[i * cols + c] -= aij * b[j * cols + c] }
                }
            }
            for v in res2 { afterSS += Double(v) * Double(v) }
        }
        let arrays = SafetensorsWriter.encode([
            NamedArray(name: "lowrank.a", halfBits: aBits, shape: [rows, r]),
            NamedArray(name: "lowrank.b", halfBits: bBits, shape: [r, cols]),
        ])
        return Output(arrays: arrays, result: CompensationResult(rank: r, sourceSumSquares: sourceSS,
                                                               errorSumSquaresBefore: beforeSS, errorSumSquaresAfter: afterSS))
    }

    /// y[rowOffset + i, j] = sum_c res[i, c] * m[c, j]; res row-major n x cols, m column-major cols x k, y column-major (ldy).
    static func multiply(_ res: [Float], n: Int, cols: Int, by m: [Float], k: Int, into y: inout [Float], rowOffset: Int, ldy: Int) {
        res.withUnsafeBufferPointer { rp in
            m.withUnsafeBufferPointer { mp in
                y.withUnsafeMutableBufferPointer { yp in
                    // res row-major n x cols is column-major cols x n; y_block = res * m  =>  (cols x n)^T * (cols x k).
                    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(k), Int32(cols), 1,
                                rp.baseAddress!, Int32(cols), mp.baseAddress!, Int32(cols), 0, yp.baseAddress! + rowOffset, Int32(ldy))
                }
            }
        }
    }

    /// z += res^T q[rowOffset ..< rowOffset + n, :]; z column-major cols x k.
    static func multiplyTransposed(_ res: [Float], n: Int, cols: Int, q: [Float], rowOffset: Int, ldq: Int, k: Int, into z: inout [Float]) {
        res.withUnsafeBufferPointer { rp in
            q.withUnsafeBufferPointer { qp in
                z.withUnsafeMutableBufferPointer { zp in
                    // res as column-major cols x n; z += res_cm (cols x n) * q_block (n x k).
                    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, Int32(cols), Int32(k), Int32(n), 1,
                                rp.baseAddress!, Int32(cols), qp.baseAddress! + rowOffset, Int32(ldq), 1, zp.baseAddress!, Int32(cols))
                }
            }
        }
    }
}
