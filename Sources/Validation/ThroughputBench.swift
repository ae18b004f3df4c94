import Foundation
import Engine

/// Engine throughput as ratios against baselines run in the same process on the same data: memory bandwidth
/// (a copy) and plain round-to-nearest. Seconds alone depend on the machine; the ratios say what the extra
/// work of each step costs.
public enum ThroughputBench {
    public struct Row: Codable, Sendable {
        public var name: String
        public var weightsPerSecond: Double
        public var vsCopy: Double
        public var vsPlainRTN: Double
    }

    public static func run(rows: Int = 512, cols: Int = 4096, repeats: Int = 3) -> [Row] {
        var g = SplitMix64(seed: 11)
        let x = (0..<rows * cols).map { _ in Float(Double(g.next() >> 11) / Double(1 << 53) - 0.5) }
        let n = Double(rows * cols)

        /// Best of `repeats` wall times: the least disturbed run.
        func time(_ body: () -> Void) -> Double {
            var best = Double.infinity
            for _ in 0..<repeats {
                let t = Date()
                body()
                best = min(best, Date().timeIntervalSince(t))
            }
            return max(best, 1e-9)
        }
        var sink: Float = 0
        let copy = time {
            var y = [Float](repeating: 0, count: x.count)
            y.withUnsafeMutableBufferPointer { d in x.withUnsafeBufferPointer { s in d.baseAddress!.update(from: s.baseAddress!, count: s.count) } }
            sink += y[x.count / 2]
        }
        let rtn = time { sink += RoundToNearest.apply(x, cols: cols, bits: 4, group: 128)[7] }
        var cases: [(String, Double)] = [("copy (memory bandwidth)", copy), ("plain RTN int4 g128", rtn)]
        for (name, format, group, symmetric) in [("int8 g128 (scale search)", QuantFormat.int8, 128, true),
                                                 ("int4 g128 asymmetric (scale search)", .int4, 128, false),
                                                 ("int4 g128 symmetric (scale search)", .int4, 128, true),
                                                 ("int3 g128 asymmetric (scale search)", .int3, 128, false),
                                                 ("int2 g64 asymmetric (scale search)", .int2, 64, false)] {
            cases.append((name, time {
                let t = x.withUnsafeBufferPointer { GroupQuantizer.quantize($0, rows: rows, cols: cols, format: format, groupSize: group, symmetric: symmetric) }
                sink += Float(t.codes[3])
            }))
        }
        let rotation = Rotation(RotationDescriptor(size: cols, seed: 1))
        cases.append(("G=i rotation (block Hadamard)", time {
            var y = x
            y.withUnsafeMutableBufferPointer { rotation.rotateRows($0, rows: rows) }
            sink += y[5]
        }))
        let tile = x.withUnsafeBufferPointer { GroupQuantizer.quantize($0, rows: rows, cols: cols, format: .int4, groupSize: 128) }
        cases.append(("int4 dequantize", time { sink += GroupQuantizer.dequantize(tile)[9] }))
        // ggml block formats: llama.cpp's own choice of codes (its reference quantizer, ported) against ours.
        for type in [GGMLType.q4_0, .q4_K, .q3_K, .q2_K] {
            guard let rowBytes = type.rowBytes(columns: cols) else { continue }
            var blocks = [UInt8](repeating: 0, count: rows * rowBytes)
            for (label, reference) in [("llama.cpp's codes", true), ("our search", false)] {
                cases.append(("\(type.rawValue) quantize (\(label))", time {
                    x.withUnsafeBufferPointer { s in
                        blocks.withUnsafeMutableBytes { d in
                            for r in 0..<rows {
                                type.quantizeRow(s.baseAddress! + r * cols, columns: cols, reference: reference, into: d.baseAddress! + r * rowBytes)
                            }
                        }
                    }
                    sink += Float(blocks[rowBytes / 2])
                }))
            }
            var y = [Float](repeating: 0, count: x.count)
            cases.append(("\(type.rawValue) dequantize", time {
                blocks.withUnsafeBytes { b in
                    y.withUnsafeMutableBufferPointer { d in
                        for r in 0..<rows { type.dequantizeRow(b.baseAddress! + r * rowBytes, columns: cols, into: d.baseAddress! + r * cols) }
                    }
                }
                sink += y[11]
            }))
        }
        if sink.isNaN { print("") }   // keeps the measured work from being optimised away
        return cases.map { Row(name: $0.0, weightsPerSecond: n / $0.1, vsCopy: copy / $0.1, vsPlainRTN: rtn / $0.1) }
    }
}
