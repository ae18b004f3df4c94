/// The G=i rotation of a descriptor, applied with fast Walsh-Hadamard transforms; no matrix is formed.
/// Per block, G x = H D J D H x / b. D J D only pairs column i with i + b/2, so it reduces to one factor
/// p_i = s_i s_{i+b/2} per pair; the two 1/sqrt(b) normalisations become one exact 1/b folded into p_i.
/// For unit vectors every step is then exact, so G G = -I holds to the last bit on basis vectors.
public struct Rotation: Sendable {
    public let descriptor: RotationDescriptor
    /// p_i / b for the first half of each block, blocks in order.
    private let pairFactors: [Float]

    public init(_ d: RotationDescriptor) {
        descriptor = d
        guard !d.isIdentity else {
            pairFactors = []
            return
        }
        precondition(d.kind == RotationDescriptor.blockHadamardKind, "unknown rotation kind \(d.kind)")
        precondition(d.block >= 2 && d.block & (d.block - 1) == 0 && d.size % d.block == 0,
                     "rotation block \(d.block) must be a power of two dividing \(d.size)")
        var generator = SplitMix64(seed: d.seed)
        let signs: [Float] = (0..<d.size).map { _ in generator.next() >> 63 == 0 ? 1 : -1 }
        let half = d.block / 2
        let scale = 1 / Float(d.block)
        var factors = [Float]()
        factors.reserveCapacity(d.size / 2)
        for blockStart in stride(from: 0, to: d.size, by: d.block) {
            for i in blockStart..<(blockStart + half) {
                factors.append(signs[i] * signs[i + half] * scale)
            }
        }
        pairFactors = factors
    }

    /// r <- r * G^T for each row (weights into the rotated basis: W' = W G^T). Also rotates an activation
    /// vector x into G x.
    public func rotateRows(_ x: UnsafeMutableBufferPointer<Float>, rows: Int) {
        apply(x, rows: rows, sign: 1)
    }

    /// r <- r * G for each row (back from the rotated basis: W^ = W' G). G = -G^T, so this is the
    /// rotation with the sign flipped.
    public func unrotateRows(_ x: UnsafeMutableBufferPointer<Float>, rows: Int) {
        apply(x, rows: rows, sign: -1)
    }

    private func apply(_ x: UnsafeMutableBufferPointer<Float>, rows: Int, sign: Float) {
        let n = descriptor.size, b = descriptor.block
        guard !descriptor.isIdentity, rows > 0 else { return }
        precondition(x.count >= rows * n, "buffer shorter than rows * size")
        let half = b / 2
        pairFactors.withUnsafeBufferPointer { factors in
            for row in 0..<rows {
                for (blockIndex, blockStart) in stride(from: 0, to: n, by: b).enumerated() {
                    let v = x.baseAddress! + row * n + blockStart
                    let p = factors.baseAddress! + blockIndex * half
                    FastWalshHadamard.transform(v, count: b)
                    for i in 0..<half {
                        let f = p[i] * sign
                        let low = v[i], high = v[i + half]
                        v[i] = -f * high
                        v[i + half] = f * low
                    }
                    FastWalshHadamard.transform(v, count: b)
                }
            }
        }
    }
}
