import Engine
import UQCITProtocol

/// CheckpointTensor <-> TensorRef.
extension Uqcit_V2_TensorRef {
    init(_ t: CheckpointTensor) {
        self.init()
        file = t.shard; name = t.entry.name; dtype = t.entry.dtype.rawValue
        begin = UInt64(t.entry.begin); end = UInt64(t.entry.end)
        shape = t.entry.shape.map { UInt64($0) }
    }
}

extension CheckpointTensor {
    init(wire w: Uqcit_V2_TensorRef, field: String) throws(WireFormatError) {
        guard let dtype = DType(rawValue: w.dtype) else { throw WireFormatError(field + ".dtype", "unknown dtype '\(w.dtype)'") }
        let begin = try WireField.int(w.begin, field + ".begin"), end = try WireField.int(w.end, field + ".end")
        guard end >= begin else { throw WireFormatError(field + ".end", "\(end) is before begin \(begin)") }
        self.init(shard: try WireField.nonEmpty(w.file, field + ".file"),
                  entry: TensorEntry(name: try WireField.nonEmpty(w.name, field + ".name"), dtype: dtype,
                                     shape: try WireField.ints(w.shape, field + ".shape"), begin: begin, end: end))
    }
}
