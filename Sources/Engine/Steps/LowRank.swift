import COpenBLAS

/// Dense helpers for the randomized SVD of the compensation step (OpenBLAS + LAPACKE, column-major).
enum LowRank {
    /// Orthonormalises the columns of a column-major m x k matrix in place (Householder QR).
    static func orthonormalize(_ a: inout [Float], m: Int, k: Int) {
        var tau = [Float](repeating: 0, count: k)
        _ = LAPACKE_sgeqrf(LAPACK_COL_MAJOR, Int32(m), Int32(k), &a, Int32(m), &tau)
        _ = LAPACKE_sorgqr(LAPACK_COL_MAJOR, Int32(m), Int32(k), Int32(k), &a, Int32(m), &tau)
    }

    /// Thin SVD of a column-major m x n matrix: (U m x p, S p, Vt p x n) with p = min(m, n).
    static func svd(_ a: [Float], m: Int, n: Int) -> (u: [Float], s: [Float], vt: [Float]) {
        let p = min(m, n)
        var a = a
        var s = [Float](repeating: 0, count: p)
        var u = [Float](repeating: 0, count: m * p)
        var vt = [Float](repeating: 0, count: p * n)
        _ = LAPACKE_sgesdd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "S")), Int32(m), Int32(n), &a, Int32(m), &s, &u, Int32(m), &vt, Int32(p))
        return (u, s, vt)
    }

    /// Standard normal samples from a seeded generator (Box-Muller), so the sketch is the same on every worker.
    static func gaussian(count: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        var out = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            let u1 = max(Double(g.next() >> 11) / Double(1 << 53), 1e-300)
            let u2 = Double(g.next() >> 11) / Double(1 << 53)
            let r = (-2 * log(u1)).squareRoot()
            out[i] = Float(r * cos(2 * Double.pi * u2))
            if i + 1 < count { out[i + 1] = Float(r * sin(2 * Double.pi * u2)) }
            i += 2
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif
