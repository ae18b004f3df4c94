import Engine
import Foundation

/// Deterministic test inputs and error measures shared by the Numerics tests.
enum NumericsTestData {
    /// Standard normal samples by Box-Muller from SplitMix64, so every run sees the same data.
    static func gaussian(count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        var values = [Float]()
        values.reserveCapacity(count + 1)
        while values.count < count {
            let u1 = (Double(generator.next() >> 11) + 0.5) * 0x1p-53
            let u2 = Double(generator.next() >> 11) * 0x1p-53
            let radius = (-2 * log(u1)).squareRoot()
            values.append(Float(radius * cos(2 * Double.pi * u2)))
            values.append(Float(radius * sin(2 * Double.pi * u2)))
        }
        return Array(values.prefix(count))
    }

    /// Signal-to-quantization-noise ratio in dB.
    static func sqnr(_ reference: [Float], _ approximation: [Float]) -> Double {
        let (signal, noise) = energies(reference, approximation)
        return 10 * log10(signal / noise)
    }

    /// ||reference - approximation|| / ||reference||.
    static func relativeError(_ reference: [Float], _ approximation: [Float]) -> Double {
        let (signal, noise) = energies(reference, approximation)
        return (noise / signal).squareRoot()
    }

    private static func energies(_ reference: [Float], _ approximation: [Float]) -> (signal: Double, noise: Double) {
        precondition(reference.count == approximation.count)
        var signal = 0.0, noise = 0.0
        for i in reference.indices {
            let r = Double(reference[i]), e = r - Double(approximation[i])
            signal += r * r
            noise += e * e
        }
        return (signal, noise)
    }
}
