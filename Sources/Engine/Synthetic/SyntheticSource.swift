import Foundation

/// A frontier model that exists only as headers: rows are generated on read, deterministically from the model
/// name, tensor name and row, so every worker reads the same weights without any disk. The values are
/// heavy-tailed like trained weights: Laplace-distributed (kurtosis 6), 1% of input channels with 4x the scale
/// (the outlier features of trained LLMs), and one element in 4096 an 8x outlier; norm vectors sit near 1.
/// Values are rounded to BF16, the declared dtype, so raw bytes and rows agree.
public final class SyntheticSource: TensorRowSource, @unchecked Sendable {
    public static let scheme = "synthetic:"
    /// Changes whenever the generator does, so that a resume refuses a job planned on other data.
    static let generatorVersion = "1"

    public let architecture: SyntheticArchitecture
    public let tensors: [CheckpointTensor]
    public let configBytes: [UInt8]
    public let config: JSONValue
    public var location: String { Self.scheme + architecture.name }

    public init(name: String) throws(CheckpointError) {
        guard let a = SyntheticArchitecture.named(name) else {
            throw .missingFolder("\(Self.scheme)\(name) (synthetic models: \(SyntheticArchitecture.names.joined(separator: ", ")))")
        }
        architecture = a
        configBytes = Array(a.config.utf8)
        do { config = try JSONValue.parse(configBytes) } catch { throw .unreadable(file: Self.scheme + name, reason: error.description) }
        var offset = 0
        tensors = a.tensors.map { t in
            let bytes = t.shape.reduce(1, *) * 2
            defer { offset += bytes }
            return CheckpointTensor(shard: Self.scheme + name, entry: TensorEntry(name: t.name, dtype: .bf16, shape: t.shape, begin: offset, end: offset + bytes))
        }.sorted { TensorName.naturalOrder($0.name, $1.name) }
    }

    public var modelType: String { config["model_type"]?.stringValue ?? "" }
    public var architectures: [String] { config["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? [] }

    public func fingerprint() -> String {
        Digest.sha256Hex(Array("\(location)|generator \(Self.generatorVersion)|".utf8) + configBytes)
    }

    public func readRows(_ t: CheckpointTensor, start: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        let cols = t.entry.columns
        guard start >= 0, count >= 0, start + count <= t.entry.rows, out.count >= count * cols else {
            throw CheckpointError.malformedTensor(file: location, tensor: t.name, reason: "rows \(start)..<\(start + count) outside \(t.entry.rows) rows")
        }
        let seed = SplitMix64.mix(Self.hash(t.name))
        let isVector = t.entry.shape.count < 2
        for r in 0..<count {
            var g = SplitMix64(seed: seed ^ SplitMix64.mix(UInt64(start + r)))
            for c in 0..<cols {
                let u = g.next()
                let value: Float
                if isVector {
                    value = 1 + 0.05 * (Float(u >> 40) / Float(1 << 24) - 0.5)
                } else {
                    // Laplace: sign from one bit, magnitude -log(uniform) from 52 others.
                    let uniform = (Double(u >> 12) + 0.5) / Double(1 << 52)
                    var x = Float(-log(uniform)) * 0.014
                    if u & 1 == 1 { x = -x }
                    if SplitMix64.mix(seed &+ UInt64(c)) % 100 == 0 { x *= 4 }
                    if (u >> 1) & 4095 == 0 { x *= 8 }
                    value = x
                }
                out[r * cols + c] = Float(bitPattern: UInt32(HalfPrecision.floatToBF16(value)) << 16)
            }
        }
    }

    public func forEachRawChunk(_ t: CheckpointTensor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let cols = t.entry.columns
        let rowsPerChunk = max(1, (8 << 20) / max(cols, 1))
        var row = 0
        while row < t.entry.rows {
            let n = min(rowsPerChunk, t.entry.rows - row)
            let values = try readRows(t, start: row, count: n)
            var bytes = [UInt8](repeating: 0, count: values.count * 2)
            for (i, v) in values.enumerated() {
                let b = HalfPrecision.floatToBF16(v)
                bytes[2 * i] = UInt8(b & 0xFF); bytes[2 * i + 1] = UInt8(b >> 8)
            }
            try bytes.withUnsafeBytes(body)
            row += n
        }
    }

    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325      // FNV-1a
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
