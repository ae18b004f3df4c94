/// Measured (not assumed) properties of a rotation, recorded beside it in the package.
/// For kind "none" G = I, so maxAbsGGPlusI reads 2: the G G = -I claim is made only for G=i rotations.
public struct RotationInvariants: Codable, Sendable, Equatable {
    /// max |(G G + I)_ij| from applying G twice to basis vectors: all of them when size <= 512, otherwise 64
    /// spread evenly over the columns (so over every block and over positions inside blocks).
    public var maxAbsGGPlusI: Double
    /// Over the sample rows: | ||r G^T|| - ||r|| | / ||r||.
    public var maxRowNormRelError: Double
    /// |sigma_max(A G^T) - sigma_max(A)| / sigma_max(A) for the sample rows A, by power iteration.
    public var topSingularValueRelError: Double

    public init(maxAbsGGPlusI: Double, maxRowNormRelError: Double, topSingularValueRelError: Double) {
        self.maxAbsGGPlusI = maxAbsGGPlusI
        self.maxRowNormRelError = maxRowNormRelError
        self.topSingularValueRelError = topSingularValueRelError
    }

    static let exhaustiveBasisLimit = 512
    static let sampledBasisVectors = 64
    static let powerIterations = 40

    /// `sampleRows` holds `rows` rows of length `r.descriptor.size`, in the original basis.
    public static func measure(_ r: Rotation, sampleRows: UnsafeBufferPointer<Float>, rows: Int) -> RotationInvariants {
        let n = r.descriptor.size
        precondition(sampleRows.count >= rows * n, "sample shorter than rows * size")
        guard n > 0 else { return RotationInvariants(maxAbsGGPlusI: 0, maxRowNormRelError: 0, topSingularValueRelError: 0) }

        let basis = n <= exhaustiveBasisLimit
            ? Array(0..<n)
            : (0..<sampledBasisVectors).map { k in (2 * k + 1) * n / (2 * sampledBasisVectors) }
        var maxGGPlusI = 0.0
        var unit = [Float](repeating: 0, count: n)
        unit.withUnsafeMutableBufferPointer { v in
            for j in basis {
                v.update(repeating: 0)
                v[j] = 1
                r.rotateRows(v, rows: 1)
                r.rotateRows(v, rows: 1)
                v[j] += 1
                for value in v {
                    maxGGPlusI = Swift.max(maxGGPlusI, Double(abs(value)))
                }
            }
        }

        var rotated = Array(sampleRows.prefix(rows * n))
        rotated.withUnsafeMutableBufferPointer { r.rotateRows($0, rows: rows) }
        var maxNormError = 0.0
        for row in 0..<rows {
            let before = norm(sampleRows.baseAddress! + row * n, count: n)
            let after = rotated.withUnsafeBufferPointer { norm($0.baseAddress! + row * n, count: n) }
            if before > 0 {
                maxNormError = Swift.max(maxNormError, abs(after - before) / before)
            }
        }

        // Start the rotated iteration from G v0: in exact arithmetic both then produce the same iterates,
        // so any difference measures the rotation, not how far the power iteration has converged.
        var generator = SplitMix64(seed: 0x5EED_0F_0001)
        var start = (0..<n).map { _ in Float(Double(generator.next() >> 11) * 0x1p-53 * 2 - 1) }
        let sigma = sampleRows.baseAddress.map { topSingularValue($0, rows: rows, cols: n, start: start) } ?? 0
        start.withUnsafeMutableBufferPointer { r.rotateRows($0, rows: 1) }
        let sigmaRotated = rotated.withUnsafeBufferPointer { a in
            a.baseAddress.map { topSingularValue($0, rows: rows, cols: n, start: start) } ?? 0
        }
        let singularError = sigma > 0 ? abs(sigmaRotated - sigma) / sigma : 0
        return RotationInvariants(maxAbsGGPlusI: maxGGPlusI, maxRowNormRelError: maxNormError, topSingularValueRelError: singularError)
    }

    private static func norm(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var sum = 0.0
        for i in 0..<count {
            sum += Double(x[i]) * Double(x[i])
        }
        return sum.squareRoot()
    }

    /// Power iteration on A^T A, accumulated in Double; a fixed number of steps keeps it deterministic.
    private static func topSingularValue(_ a: UnsafePointer<Float>, rows: Int, cols: Int, start: [Float]) -> Double {
        guard rows > 0 else { return 0 }
        var v = start.map(Double.init)
        var u = [Double](repeating: 0, count: rows)
        var sigma = 0.0
        for _ in 0..<powerIterations {
            let vNorm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard vNorm > 0 else { return 0 }
            for j in 0..<cols { v[j] /= vNorm }
            for i in 0..<rows {
                var dot = 0.0
                let row = a + i * cols
                for j in 0..<cols { dot += Double(row[j]) * v[j] }
                u[i] = dot
            }
            sigma = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for j in 0..<cols { v[j] = 0 }
            for i in 0..<rows {
                let row = a + i * cols
                let ui = u[i]
                for j in 0..<cols { v[j] += Double(row[j]) * ui }
            }
        }
        return sigma
    }
}
