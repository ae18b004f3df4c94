/// In-place fast Walsh-Hadamard transform, O(n log n): x <- H_n x with H_n the Sylvester (natural order)
/// Hadamard matrix, unnormalised, so that callers can fold the 1/n into one exact power-of-two scaling.
enum FastWalshHadamard {
    static func transform(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        precondition(n > 0 && n & (n - 1) == 0, "Walsh-Hadamard length must be a power of two")
        var half = 1
        while half < n {
            var start = 0
            while start < n {
                for j in start..<(start + half) {
                    let a = x[j], b = x[j + half]
                    x[j] = a + b
                    x[j + half] = a - b
                }
                start += 2 * half
            }
            half *= 2
        }
    }
}
