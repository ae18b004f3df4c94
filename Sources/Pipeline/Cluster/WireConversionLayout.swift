import Engine
import UQCITProtocol

/// QuantizedTensorLayout (what COMPENSATE decodes the tiles with) <-> its wire message.
extension Uqcit_V2_PartLayout {
    init(_ p: PartLayout) {
        self.init()
        format = .init(p.format); groupSize = UInt64(p.groupSize); columns = UInt64(p.columns); symmetric = p.symmetric
    }
}

extension PartLayout {
    init(wire w: Uqcit_V2_PartLayout, field: String) throws(WireFormatError) {
        self.init(format: try QuantFormat(wire: w.format, field: field + ".format"), groupSize: try WireField.int(w.groupSize, field + ".group_size"),
                  columns: try WireField.int(w.columns, field + ".columns"), symmetric: w.symmetric)
    }
}

extension Uqcit_V2_QuantizedTensorLayout {
    init(_ l: QuantizedTensorLayout) {
        self.init()
        name = l.name; rows = UInt64(l.rows); columns = UInt64(l.columns); sourceDtype = l.sourceDType.rawValue
        granularity = .init(l.granularity); rotation = .init(l.rotation); highColumns = l.highColumns.map { UInt64($0) }
        if let h = l.high { high = .init(h) }
        low = .init(l.low)
        if let s = l.sparseFormat { sparseFormat = .init(s) }
        compensationRank = UInt64(l.compensationRank)
        if let t = l.ggml { ggmlType = t.ggmlID }
        if let c = l.ggmlCodes { ggmlCodes = .init(c) }
    }
}

extension QuantizedTensorLayout {
    init(wire w: Uqcit_V2_QuantizedTensorLayout, field: String) throws(WireFormatError) {
        guard let dtype = DType(rawValue: w.sourceDtype) else { throw WireFormatError(field + ".source_dtype", "unknown dtype '\(w.sourceDtype)'") }
        let rotation = try WireField.required(w.hasRotation, w.rotation, field + ".rotation")
        let low = try WireField.required(w.hasLow, w.low, field + ".low")
        self.init(name: try WireField.nonEmpty(w.name, field + ".name"), rows: try WireField.int(w.rows, field + ".rows"),
                  columns: try WireField.int(w.columns, field + ".columns"), sourceDType: dtype,
                  granularity: try Granularity(wire: w.granularity, field: field + ".granularity"),
                  rotation: try RotationDescriptor(wire: rotation, field: field + ".rotation"),
                  highColumns: try WireField.ints(w.highColumns, field + ".high_columns"),
                  high: w.hasHigh ? try PartLayout(wire: w.high, field: field + ".high") : nil,
                  low: try PartLayout(wire: low, field: field + ".low"),
                  sparseFormat: w.hasSparseFormat ? try QuantFormat(wire: w.sparseFormat, field: field + ".sparse_format") : nil,
                  compensationRank: try WireField.int(w.compensationRank, field + ".compensation_rank"),
                  ggml: w.hasGgmlType ? try GGMLType(wire: w.ggmlType, field: field + ".ggml_type") : nil,
                  ggmlCodes: w.hasGgmlCodes ? try GGMLCodeChoice(wire: w.ggmlCodes, field: field + ".ggml_codes") : nil)
    }
}
