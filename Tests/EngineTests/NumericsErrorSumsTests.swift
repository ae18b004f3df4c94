import XCTest
@testable import Kernels

/// ErrorSums against the plain Double loop it replaces, on lengths that end mid-lane and mid-run.
final class NumericsErrorSumsTests: XCTestCase {
    func testMatchesTheDoubleLoop() {
        for n in [0, 1, 7, 8, 4095, 4096, 4097, 20_003] {
            let x = NumericsTestData.gaussian(count: n, seed: UInt64(n) + 1)
            let y = x.enumerated().map { $0.element + Float($0.offset % 13) * 1e-3 - 6e-3 }
            var s = 0.0, e = 0.0, m: Float = 0
            for i in 0..<n {
                let d = x[i] - y[i]
                s += Double(x[i]) * Double(x[i]); e += Double(d) * Double(d); m = max(m, abs(d))
            }
            let got = ErrorSums.of(x, y, count: n)
            XCTAssertEqual(got.source, s, accuracy: 1e-5 * max(s, 1), "n \(n)")
            XCTAssertEqual(got.error, e, accuracy: 1e-5 * max(e, 1e-12), "n \(n)")
            XCTAssertEqual(got.maxAbs, m, "n \(n)")
        }
    }

    /// A NaN difference is left out of the maximum, as Swift's max left it out before.
    func testNaNIsLeftOutOfTheMaximum() {
        var x = [Float](repeating: 1, count: 37), y = [Float](repeating: 0.5, count: 37)
        y[3] = .nan; y[35] = .nan
        XCTAssertEqual(ErrorSums.of(x, y, count: 37).maxAbs, 0.5)
        x[0] = 3
        XCTAssertEqual(ErrorSums.of(x, y, count: 37).maxAbs, 2.5)
    }
}
