/// A row-major [rows x cols] tile quantized group-wise along each row: groups of `groupSize` consecutive
/// columns, the last group of a row possibly partial. This is exactly what is written to disk.
public struct QuantizedTile: Sendable, Equatable {
    public var format: QuantFormat
    public var rows: Int
    public var cols: Int
    public var groupSize: Int
    /// rows * rowStride bytes: packed codes, or for fp16 two little-endian bytes (f16 or bf16 bits) a value.
    public var codes: [UInt8]
    /// f16 bits, rows * groupsPerRow (empty for fp16).
    public var scales: [UInt16]
    /// f16 bits, rows * groupsPerRow when asymmetric, empty when symmetric.
    public var mins: [UInt16]
    /// fp16 passthrough only: true when the 16-bit values are bf16 bit patterns.
    public var halfIsBF16: Bool
    /// w ≈ q * d (codes as QuantFormat.symmetricCodeOffset says) rather than q * d + m; the format's default
    /// unless overridden. Meaningless for fp16.
    public var symmetric: Bool

    public init(format: QuantFormat, rows: Int, cols: Int, groupSize: Int, codes: [UInt8], scales: [UInt16], mins: [UInt16], halfIsBF16: Bool, symmetric: Bool? = nil) {
        self.format = format
        self.rows = rows
        self.cols = cols
        self.groupSize = groupSize
        self.codes = codes
        self.scales = scales
        self.mins = mins
        self.halfIsBF16 = halfIsBF16
        self.symmetric = symmetric ?? format.isSymmetric
    }

    public var rowStride: Int {
        format.packedBytes(count: cols)
    }

    public var groupsPerRow: Int {
        format == .fp16 || groupSize <= 0 ? 0 : (cols + groupSize - 1) / groupSize
    }
}

public enum GroupQuantizer {
    /// Quantizes `x` (at least rows * cols values, row-major). `symmetric` overrides the format's default.
    /// `groupSize` is ignored for fp16, which keeps each value as the nearest f16 (or bf16 when `halfIsBF16`),
    /// bit-exact for values already in that format.
    public static func quantize(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, format: QuantFormat, groupSize: Int, symmetric: Bool? = nil, halfIsBF16: Bool = false) -> QuantizedTile {
        precondition(rows >= 0 && cols >= 0 && x.count >= rows * cols, "tile larger than its buffer")
        let symmetric = format != .fp16 && (symmetric ?? format.isSymmetric)
        var tile = QuantizedTile(format: format, rows: rows, cols: cols, groupSize: groupSize, codes: [], scales: [], mins: [],
                                 halfIsBF16: format == .fp16 && halfIsBF16, symmetric: symmetric)
        guard let base = x.baseAddress, rows * cols > 0 else { return tile }
        if format == .fp16 {
            tile.codes = encodeHalf(x, count: rows * cols, asBF16: tile.halfIsBF16)
            return tile
        }
        precondition(groupSize > 0, "group size must be positive")
        let groups = tile.groupsPerRow
        let stride = tile.rowStride
        tile.codes = [UInt8](repeating: 0, count: rows * stride)
        tile.scales = [UInt16](repeating: 0, count: rows * groups)
        if !symmetric {
            tile.mins = [UInt16](repeating: 0, count: rows * groups)
        }
        let symmetricSearch = SymmetricScaleSearch(format: format)
        let asymmetricSearch = AsymmetricScaleSearch(format: format)
        let rowCodes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: cols)
        defer { rowCodes.deallocate() }
        tile.codes.withUnsafeMutableBufferPointer { packed in
            tile.scales.withUnsafeMutableBufferPointer { scales in
                tile.mins.withUnsafeMutableBufferPointer { mins in
                    for row in 0..<rows {
                        let rowValues = base + row * cols
                        for group in 0..<groups {
                            let start = group * groupSize
                            let count = Swift.min(groupSize, cols - start)
                            let slot = row * groups + group
                            if symmetric {
                                scales[slot] = symmetricSearch.search(rowValues + start, count: count)
                                symmetricSearch.assign(rowValues + start, count: count, scale: scales[slot], into: rowCodes.baseAddress! + start)
                            } else {
                                (scales[slot], mins[slot]) = asymmetricSearch.search(rowValues + start, count: count)
                                asymmetricSearch.assign(rowValues + start, count: count, scale: scales[slot], min: mins[slot], into: rowCodes.baseAddress! + start)
                            }
                        }
                        format.pack(codes: UnsafeBufferPointer(rowCodes), into: UnsafeMutableBufferPointer(rebasing: packed[(row * stride)..<((row + 1) * stride)]))
                    }
                }
            }
        }
        return tile
    }

    /// Reconstructs rows * cols values from the stored codes and f16 scales and mins.
    public static func dequantize(_ t: QuantizedTile, into: UnsafeMutableBufferPointer<Float>) {
        let rows = t.rows, cols = t.cols
        precondition(into.count >= rows * cols, "output smaller than the tile")
        guard let out = into.baseAddress, rows * cols > 0 else { return }
        if t.format == .fp16 {
            decodeHalf(t.codes, count: rows * cols, asBF16: t.halfIsBF16, into: out)
            return
        }
        let groups = t.groupsPerRow
        let stride = t.rowStride
        let offset = t.format.symmetricCodeOffset
        let rowCodes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: cols)
        defer { rowCodes.deallocate() }
        t.codes.withUnsafeBufferPointer { packed in
            for row in 0..<rows {
                t.format.unpack(packed: UnsafeBufferPointer(rebasing: packed[(row * stride)..<((row + 1) * stride)]), count: cols, into: rowCodes)
                let rowOut = out + row * cols
                for group in 0..<groups {
                    let start = group * t.groupSize
                    let end = Swift.min(start + t.groupSize, cols)
                    let d = HalfPrecision.f16ToFloat(t.scales[row * groups + group])
                    if t.symmetric {
                        for i in start..<end {
                            rowOut[i] = Float(Int8(bitPattern: rowCodes[i] &- offset)) * d
                        }
                    } else {
                        let m = HalfPrecision.f16ToFloat(t.mins[row * groups + group])
                        for i in start..<end {
                            rowOut[i] = Float(rowCodes[i]) * d + m
                        }
                    }
                }
            }
        }
    }

    public static func dequantize(_ t: QuantizedTile) -> [Float] {
        [Float](unsafeUninitializedCapacity: t.rows * t.cols) { buffer, initialized in
            dequantize(t, into: buffer)
            initialized = t.rows * t.cols
        }
    }

    private static func encodeHalf(_ x: UnsafeBufferPointer<Float>, count: Int, asBF16: Bool) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 2 * count) { bytes, initialized in
            for i in 0..<count {
                let bits = asBF16 ? HalfPrecision.floatToBF16(x[i]) : HalfPrecision.floatToF16(x[i])
                bytes[2 * i] = UInt8(truncatingIfNeeded: bits)
                bytes[2 * i + 1] = UInt8(truncatingIfNeeded: bits >> 8)
            }
            initialized = 2 * count
        }
    }

    private static func decodeHalf(_ bytes: [UInt8], count: Int, asBF16: Bool, into out: UnsafeMutablePointer<Float>) {
        precondition(bytes.count >= 2 * count, "fp16 tile shorter than rows * cols")
        HalfPrecision.f16Table.withUnsafeBufferPointer { table in
            for i in 0..<count {
                let bits = UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8
                out[i] = asBF16 ? HalfPrecision.bf16ToFloat(bits) : table[Int(bits)]
            }
        }
    }
}
