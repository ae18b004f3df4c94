/// The symmetric group-wise grid calibrated quantizers round to: w ≈ q * d, q in -maxCode...maxCode, d an f16 per
/// group of a row, codes stored as GroupQuantizer stores them, so a tile is read back by GroupQuantizer.dequantize.
struct SymmetricGrid {
    let format: QuantFormat
    let rule: GPTQScaleRule
    let maxCode: Float
    private let search: SymmetricScaleSearch

    init(format: QuantFormat, rule: GPTQScaleRule) {
        self.format = format
        self.rule = rule
        maxCode = Float(format.maxCode(symmetric: true))
        search = SymmetricScaleSearch(format: format)
    }

    /// The stored scale (f16 bits) of one group's current values.
    func scale(_ values: ArraySlice<Double>) -> UInt16 {
        switch rule {
        case .absMax:
            let amax = values.reduce(0) { Swift.max($0, abs($1)) }
            return HalfPrecision.floatToF16(Float(amax) / maxCode)
        case .search:
            let group = values.map(Float.init)
            return group.withUnsafeBufferPointer { search.search($0.baseAddress!, count: $0.count) }
        }
    }

    /// The level of `value` under a stored scale: the arithmetic SymmetricScaleSearch.assign uses, so with no error
    /// feedback the codes are RTN's.
    @inline(__always)
    func level(_ value: Double, scale: UInt16) -> Int8 {
        let d = HalfPrecision.f16ToFloat(scale)
        let inverse: Float = d > 0 ? 1 / d : 0
        return Int8(GroupLanes.roundedToNearest(GroupLanes.clamp(Float(value) * inverse, -maxCode, maxCode)))
    }

    /// A tile from levels in working column order (`order[j]` is the source column of working column j).
    func tile(codes: [Int8], order: [Int], scales: [UInt16], rows: Int, cols: Int, groupSize: Int) -> QuantizedTile {
        let stride = format.packedBytes(count: cols)
        var packed = [UInt8](repeating: 0, count: rows * stride)
        var rowCodes = [UInt8](repeating: 0, count: cols)
        let offset = format.symmetricCodeOffset
        packed.withUnsafeMutableBufferPointer { packed in
            for r in 0..<rows {
                for (j, source) in order.enumerated() { rowCodes[source] = UInt8(bitPattern: codes[r * cols + j]) &+ offset }
                rowCodes.withUnsafeBufferPointer { format.pack(codes: $0, into: UnsafeMutableBufferPointer(rebasing: packed[(r * stride)..<((r + 1) * stride)])) }
            }
        }
        return QuantizedTile(format: format, rows: rows, cols: cols, groupSize: groupSize, codes: packed, scales: scales, mins: [],
                             halfIsBF16: false, symmetric: true)
    }
}
