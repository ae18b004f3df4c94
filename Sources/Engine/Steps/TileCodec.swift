/// Encodes the rows of a tile (already in the rotated basis) into the arrays of its layout, and decodes them
/// back. Array names: "hi.*" and "lo.*" for the two column shares (codes, scales, mins or values), and
/// "sparse.*" for element granularity (counts per row, columns, values, scales). All arrays are row-major
/// with rows first, so the tiles of a tensor concatenate into the tensor's arrays byte by byte.
public enum TileCodec {
    public static func encode(_ x: UnsafeBufferPointer<Float>, rows: Int, layout: QuantizedTensorLayout,
                              elementThreshold: Float?, clusters: [[Int]], columnImportance: [Float]? = nil) -> [NamedArray] {
        let cols = layout.columns
        if let type = layout.ggml {
            return [encodeGGML(x, rows: rows, cols: cols, type: type, reference: layout.ggmlCodes == .reference, importance: columnImportance)]
        }
        switch layout.granularity {
        case .channel:
            var arrays: [NamedArray] = []
            if let high = layout.high {
                let g = gather(x, rows: rows, cols: cols, columns: layout.highColumns)
                arrays += encodePart(g, rows: rows, part: high, prefix: "hi", bf16: layout.halfIsBF16)
            }
            let lowCols = layout.highColumns.isEmpty ? nil : layout.lowColumns()
            let g = lowCols.map { gather(x, rows: rows, cols: cols, columns: $0) } ?? Array(x)
            arrays += encodePart(g, rows: rows, part: layout.low, prefix: "lo", bf16: layout.halfIsBF16)
            return arrays
        case .element:
            return encodeElement(x, rows: rows, layout: layout, threshold: elementThreshold ?? .infinity, clusters: clusters)
        }
    }

    /// Decodes `rows` rows into `out` (rows * columns floats, rotated basis), after `checkArrays`: arrays that
    /// are missing or of the wrong size throw an error naming `file` and `tensor`.
    public static func decode(_ arrays: [String: NamedArray], rows: Int, layout: QuantizedTensorLayout, into out: UnsafeMutableBufferPointer<Float>,
                              file: String, tensor: String) throws(PackageError) {
        try checkArrays(arrays, rows: rows, layout: layout, file: file, tensor: tensor)
        guard out.count >= rows * layout.columns else {
            throw .invalid(path: file, reason: "tensor '\(tensor)': \(out.count) floats for \(rows) rows of \(layout.columns)")
        }
        decodeChecked(arrays, rows: rows, layout: layout, into: out)
    }

    /// What QUANTIZE reports of a tile: ErrorSums.of(x, its decoding) after `checkArrays`; ggml blocks through a
    /// fused loop where their type has one, which gives the same sums without writing the decoded tile.
    public static func errorSums(_ x: UnsafeBufferPointer<Float>, _ arrays: [String: NamedArray], rows: Int, layout: QuantizedTensorLayout,
                                 file: String, tensor: String) throws(PackageError) -> (source: Double, error: Double, maxAbs: Float) {
        try checkArrays(arrays, rows: rows, layout: layout, file: file, tensor: tensor)
        let n = rows * layout.columns
        guard x.count >= n else { throw .invalid(path: file, reason: "tensor '\(tensor)': \(x.count) floats for \(rows) rows of \(layout.columns)") }
        guard n > 0 else { return (0, 0, 0) }
        if let type = layout.ggml,
           let sums = arrays[ggmlBlocks]!.bytes.withUnsafeBytes({ type.fusedErrorSums(x.baseAddress!, blocks: $0.baseAddress!, count: n) }) {
            return sums
        }
        // decodeChecked writes every element of every layout: no zero fill first.
        let y = [Float](unsafeUninitializedCapacity: n) { p, initialized in
            decodeChecked(arrays, rows: rows, layout: layout, into: p)
            initialized = n
        }
        return ErrorSums.of(x.baseAddress!, y, count: n)
    }

    private static func decodeChecked(_ arrays: [String: NamedArray], rows: Int, layout: QuantizedTensorLayout, into out: UnsafeMutableBufferPointer<Float>) {
        let cols = layout.columns
        if let type = layout.ggml { return decodeGGML(arrays[ggmlBlocks]!.bytes, rows: rows, cols: cols, type: type, into: out) }
        switch layout.granularity {
        case .channel:
            if let high = layout.high {
                let v = decodePart(arrays, rows: rows, part: high, prefix: "hi", bf16: layout.halfIsBF16)
                scatter(v, rows: rows, cols: cols, columns: layout.highColumns, into: out)
                let lv = decodePart(arrays, rows: rows, part: layout.low, prefix: "lo", bf16: layout.halfIsBF16)
                scatter(lv, rows: rows, cols: cols, columns: layout.lowColumns(), into: out)
            } else {
                let lv = decodePart(arrays, rows: rows, part: layout.low, prefix: "lo", bf16: layout.halfIsBF16)
                for i in 0..<rows * cols { out[i] = lv[i] }
            }
        case .element:
            let lv = decodePart(arrays, rows: rows, part: layout.low, prefix: "lo", bf16: layout.halfIsBF16)
            for i in 0..<rows * cols { out[i] = lv[i] }
            let counts = arrays["sparse.counts"]!.int32Values
            let columns = arrays["sparse.columns"]!.int32Values
            let values = sparseValues(arrays, counts: counts, format: layout.sparseFormat ?? .fp16, bf16: layout.halfIsBF16)
            var k = 0
            for r in 0..<rows {
                for _ in 0..<Int(counts[r]) {
                    out[r * cols + Int(columns[k])] = values[k]
                    k += 1
                }
            }
        }
    }

    // MARK: ggml blocks (GGUF profiles): each row is its own run of blocks, exactly as a GGUF tensor stores it

    public static let ggmlBlocks = "ggml.blocks"

    /// `importance`: one weight per column (an importance matrix), or nil.
    static func encodeGGML(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, type: GGMLType, reference: Bool, importance: [Float]?) -> NamedArray {
        let rowBytes = type.rowBytes(columns: cols)!
        let bytes = [UInt8](unsafeUninitializedCapacity: rows * rowBytes) { out, initialized in
            encodeGGMLRows(x.baseAddress!, rows: rows, cols: cols, type: type, reference: reference, importance: importance,
                           into: UnsafeMutableRawPointer(out.baseAddress!))
            initialized = rows * rowBytes
        }
        return NamedArray(name: ggmlBlocks, dtype: .u8, shape: [rows, rowBytes], bytes: bytes)
    }

    /// `rows` rows of `x` as blocks of `type`, row after row into `out` (rows * rowBytes bytes).
    static func encodeGGMLRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, type: GGMLType, reference: Bool, importance: [Float]?,
                               into out: UnsafeMutableRawPointer) {
        let rowBytes = type.rowBytes(columns: cols)!
        func quantize(_ w: UnsafePointer<Float>?) {
            for r in 0..<rows {
                type.quantizeRow(x + r * cols, columns: cols, importance: w, reference: reference, into: out + r * rowBytes)
            }
        }
        if let importance { importance.withUnsafeBufferPointer { quantize($0.baseAddress!) } } else { quantize(nil) }
    }

    static func decodeGGML(_ bytes: [UInt8], rows: Int, cols: Int, type: GGMLType, into out: UnsafeMutableBufferPointer<Float>) {
        let rowBytes = type.rowBytes(columns: cols)!
        bytes.withUnsafeBytes { b in
            for r in 0..<rows { type.dequantizeRow(b.baseAddress! + r * rowBytes, columns: cols, into: out.baseAddress! + r * cols) }
        }
    }

    // MARK: parts

    static func encodePart(_ x: [Float], rows: Int, part: PartLayout, prefix: String, bf16: Bool) -> [NamedArray] {
        let t = x.withUnsafeBufferPointer {
            GroupQuantizer.quantize($0, rows: rows, cols: part.columns, format: part.format, groupSize: part.groupSize,
                                    symmetric: part.symmetric, halfIsBF16: bf16)
        }
        if part.format == .fp16 {
            return [NamedArray(name: prefix + ".values", dtype: bf16 ? .bf16 : .f16, shape: [rows, part.columns], bytes: t.codes)]
        }
        let groups = t.scales.count / max(rows, 1)
        var out = [NamedArray(name: prefix + ".codes", dtype: .u8, shape: [rows, t.codes.count / max(rows, 1)], bytes: t.codes),
                   NamedArray(name: prefix + ".scales", halfBits: t.scales, shape: [rows, groups])]
        if !t.mins.isEmpty { out.append(NamedArray(name: prefix + ".mins", halfBits: t.mins, shape: [rows, groups])) }
        return out
    }

    static func decodePart(_ arrays: [String: NamedArray], rows: Int, part: PartLayout, prefix: String, bf16: Bool) -> [Float] {
        var t = QuantizedTile(format: part.format, rows: rows, cols: part.columns, groupSize: part.groupSize,
                              codes: [], scales: [], mins: [], halfIsBF16: bf16)
        t.symmetric = part.symmetric
        if part.format == .fp16 {
            t.codes = arrays[prefix + ".values"]!.bytes
        } else {
            t.codes = arrays[prefix + ".codes"]!.bytes
            t.scales = arrays[prefix + ".scales"]!.halfBits
            t.mins = arrays[prefix + ".mins"]?.halfBits ?? []
        }
        return GroupQuantizer.dequantize(t)
    }

    // MARK: element granularity (dense low part + sparse high outliers, as SqueezeLLM)

    static func encodeElement(_ x: UnsafeBufferPointer<Float>, rows: Int, layout: QuantizedTensorLayout, threshold: Float, clusters: [[Int]]) -> [NamedArray] {
        let cols = layout.columns
        var dense = Array(x)
        var counts = [Int32](repeating: 0, count: rows)
        var columns: [Int32] = []
        var values: [Float] = []
        var rowScales: [UInt16] = []
        var codes: [UInt8] = []
        var outlier = [Bool](repeating: false, count: cols)
        for r in 0..<rows {
            for c in 0..<cols { outlier[c] = abs(x[r * cols + c]) > threshold }
            // A cluster gets the highest precision of any member: one outlier promotes its whole cluster in this row.
            for cl in clusters where cl.contains(where: { outlier[$0] }) { for c in cl { outlier[c] = true } }
            let start = values.count
            for c in 0..<cols where outlier[c] {
                columns.append(Int32(c)); values.append(x[r * cols + c]); dense[r * cols + c] = 0
            }
            counts[r] = Int32(values.count - start)
            if layout.sparseFormat == .int8 {
                let v = Array(values[start...])
                let t = v.withUnsafeBufferPointer { GroupQuantizer.quantize($0, rows: 1, cols: v.count, format: .int8, groupSize: max(v.count, 1), symmetric: true, halfIsBF16: false) }
                rowScales.append(t.scales.first ?? 0)
                codes += t.codes
            }
        }
        var arrays = encodePart(dense, rows: rows, part: layout.low, prefix: "lo", bf16: layout.halfIsBF16)
        arrays.append(NamedArray(name: "sparse.counts", int32: counts, shape: [rows]))
        arrays.append(NamedArray(name: "sparse.columns", int32: columns, shape: [columns.count]))
        if layout.sparseFormat == .int8 {
            arrays.append(NamedArray(name: "sparse.values", dtype: .i8, shape: [codes.count], bytes: codes))
            arrays.append(NamedArray(name: "sparse.scales", halfBits: rowScales, shape: [rows]))
        } else {
            let bits = values.map { layout.halfIsBF16 ? HalfPrecision.floatToBF16($0) : HalfPrecision.floatToF16($0) }
            arrays.append(NamedArray(name: "sparse.values", halfBits: bits, bf16: layout.halfIsBF16, shape: [values.count]))
        }
        return arrays
    }

    static func sparseValues(_ arrays: [String: NamedArray], counts: [Int32], format: QuantFormat, bf16: Bool) -> [Float] {
        let v = arrays["sparse.values"]!
        if format == .int8 {
            let scales = arrays["sparse.scales"]!.halfBits
            var out: [Float] = []
            out.reserveCapacity(v.bytes.count)
            var k = 0
            for (r, n) in counts.enumerated() {
                let d = HalfPrecision.f16ToFloat(scales[r])
                for _ in 0..<Int(n) { out.append(Float(Int8(bitPattern: v.bytes[k])) * d); k += 1 }
            }
            return out
        }
        return v.halfBits.map { bf16 ? HalfPrecision.bf16ToFloat($0) : HalfPrecision.f16ToFloat($0) }
    }

    // MARK: column gather / scatter

    static func gather(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, columns: [Int]) -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns.count)
        for r in 0..<rows {
            for (j, c) in columns.enumerated() { out[r * columns.count + j] = x[r * cols + c] }
        }
        return out
    }

    static func scatter(_ v: [Float], rows: Int, cols: Int, columns: [Int], into out: UnsafeMutableBufferPointer<Float>) {
        for r in 0..<rows {
            for (j, c) in columns.enumerated() { out[r * cols + c] = v[r * columns.count + j] }
        }
    }
}
