import Engine
import XCTest

final class NumericsRotationTests: XCTestCase {
    private static let sizes = [256, 384, 768, 1536, 4096, 28672]

    private func rotated(_ x: [Float], rows: Int, _ rotation: Rotation, times: Int = 1, back: Bool = false) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { buffer in
            for _ in 0..<times {
                if back { rotation.unrotateRows(buffer, rows: rows) } else { rotation.rotateRows(buffer, rows: rows) }
            }
        }
        return y
    }

    private func relativeDistance(_ a: [Float], _ b: [Float]) -> Double {
        NumericsTestData.relativeError(a, b)
    }

    func testBlockSizes() {
        XCTAssertEqual(Self.sizes.map(RotationDescriptor.blockSize(for:)), [256, 128, 256, 512, 4096, 4096])
        XCTAssertEqual(RotationDescriptor.blockSize(for: 385), 1)
        XCTAssertEqual(RotationDescriptor(size: 385, seed: 3), .identity(size: 385))
        XCTAssertEqual(RotationDescriptor(size: 28672, seed: 3),
                       RotationDescriptor(kind: "gi-block-hadamard", block: 4096, seed: 3, size: 28672))
        let descriptor = RotationDescriptor(size: 768, seed: 99)
        let decoded = try? JSONDecoder().decode(RotationDescriptor.self, from: JSONEncoder().encode(descriptor))
        XCTAssertEqual(decoded, descriptor)
    }

    /// The fast path must equal G = blockdiag(Q J Q^T), Q = H D / sqrt(b), formed densely from the definition.
    func testMatchesDenseDefinition() {
        let n = 24, b = 8, seed: UInt64 = 1234
        var generator = SplitMix64(seed: seed)
        let signs: [Double] = (0..<n).map { _ in generator.next() >> 63 == 0 ? 1 : -1 }
        func hadamard(_ i: Int, _ j: Int) -> Double { (i & j).nonzeroBitCount % 2 == 0 ? 1 : -1 }
        func j(_ r: Int, _ c: Int) -> Double {
            if r < b / 2 && c == r + b / 2 { return -1 }
            if r >= b / 2 && c == r - b / 2 { return 1 }
            return 0
        }
        let rotation = Rotation(RotationDescriptor(size: n, seed: seed))
        XCTAssertEqual(rotation.descriptor.block, b)
        for column in 0..<n {
            var unit = [Float](repeating: 0, count: n)
            unit[column] = 1
            // Rotating the row e_c^T gives e_c^T G^T, i.e. column c of G.
            let fast = rotated(unit, rows: 1, rotation)
            for row in 0..<n {
                var dense = 0.0
                if row / b == column / b {
                    let base = row / b * b, r = row - base, c = column - base
                    for k in 0..<b {
                        for l in 0..<b {
                            dense += hadamard(r, k) * signs[base + k] * j(k, l) * signs[base + l] * hadamard(c, l) / Double(b)
                        }
                    }
                }
                XCTAssertEqual(Double(fast[row]), dense, accuracy: 1e-7, "G[\(row), \(column)]")
            }
        }
    }

    func testRotationsAreOrthogonalSquareRootsOfMinusIdentity() {
        for n in Self.sizes {
            let rows = n > 4096 ? 2 : 4
            let x = NumericsTestData.gaussian(count: rows * n, seed: UInt64(n))
            let rotation = Rotation(RotationDescriptor(size: n, seed: 77))
            let forward = rotated(x, rows: rows, rotation)
            XCTAssertLessThan(relativeDistance(x, rotated(forward, rows: rows, rotation, back: true)), 1e-5, "n \(n) unrotate")
            XCTAssertLessThan(relativeDistance(x.map { -$0 }, rotated(forward, rows: rows, rotation)), 1e-5, "n \(n) G G = -I")
            XCTAssertGreaterThan(relativeDistance(x, forward), 0.5, "n \(n) rotation moved nothing")
            for row in 0..<rows {
                let before = x[(row * n)..<((row + 1) * n)].reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
                let after = forward[(row * n)..<((row + 1) * n)].reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
                XCTAssertEqual(after, before, accuracy: 1e-5 * before, "n \(n) row \(row) norm")
            }
            let invariants = x.withUnsafeBufferPointer { RotationInvariants.measure(rotation, sampleRows: $0, rows: rows) }
            print("n \(n) block \(rotation.descriptor.block): \(invariants)")
            XCTAssertLessThan(invariants.maxAbsGGPlusI, 1e-5, "n \(n)")
            XCTAssertLessThan(invariants.maxRowNormRelError, 1e-5, "n \(n)")
            XCTAssertLessThan(invariants.topSingularValueRelError, 1e-5, "n \(n)")
        }
    }

    func testOddSizeIsIdentity() {
        let n = 385
        let descriptor = RotationDescriptor(size: n, seed: 5)
        XCTAssertEqual(descriptor.kind, "none")
        XCTAssertEqual(descriptor.block, 0)
        let x = NumericsTestData.gaussian(count: 2 * n, seed: 1)
        let rotation = Rotation(descriptor)
        XCTAssertEqual(rotated(x, rows: 2, rotation), x)
        XCTAssertEqual(rotated(x, rows: 2, rotation, back: true), x)
        let invariants = x.withUnsafeBufferPointer { RotationInvariants.measure(rotation, sampleRows: $0, rows: 2) }
        // G = I, so G G + I = 2 I: the G=i relation is not claimed for the identity.
        XCTAssertEqual(invariants.maxAbsGGPlusI, 2)
        XCTAssertEqual(invariants.maxRowNormRelError, 0)
        XCTAssertEqual(invariants.topSingularValueRelError, 0)
    }

    func testSeedDeterminesTheRotation() {
        let n = 768
        let x = NumericsTestData.gaussian(count: n, seed: 8)
        let a = rotated(x, rows: 1, Rotation(RotationDescriptor(size: n, seed: 10)))
        let again = rotated(x, rows: 1, Rotation(RotationDescriptor(size: n, seed: 10)))
        let other = rotated(x, rows: 1, Rotation(RotationDescriptor(size: n, seed: 11)))
        XCTAssertEqual(a.map(\.bitPattern), again.map(\.bitPattern))
        XCTAssertGreaterThan(relativeDistance(a, other), 0.5)
    }
}
