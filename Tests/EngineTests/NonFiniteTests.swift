import XCTest
import Kernels

final class NonFiniteTests: XCTestCase {
    func testFindsTheFirstNaNOrInfinityAndNothingInFiniteValues() {
        var x: [Float] = (0..<1037).map { Float($0) - 500 }
        x[3] = .greatestFiniteMagnitude; x[4] = -.greatestFiniteMagnitude; x[5] = .leastNonzeroMagnitude; x[6] = -0.0
        XCTAssertNil(x.withUnsafeBufferPointer(NonFinite.firstIndex))
        for (i, bad) in [(0, Float.nan), (777, Float.infinity), (1036, -Float.infinity), (513, -Float.nan)] {
            var y = x
            y[i] = bad
            if i > 600 { y[900] = .infinity }   // a later one is not the first
            XCTAssertEqual(y.withUnsafeBufferPointer(NonFinite.firstIndex), min(i, i > 600 ? 900 : i), "\(bad) at \(i)")
        }
        XCTAssertNil([Float]().withUnsafeBufferPointer(NonFinite.firstIndex))
    }
}
