/// One tensor's entry in a safetensors header. Offsets are relative to the start of the data buffer.
public struct TensorEntry: Sendable, Equatable, Codable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var begin: Int
    public var end: Int

    public var elementCount: Int { shape.reduce(1, *) }
    /// A 2-D view: rows along the first dimension, everything else flattened into columns. 1-D and scalars are one row.
    public var rows: Int { shape.count >= 2 ? shape[0] : 1 }
    public var columns: Int { shape.count >= 2 ? shape.dropFirst().reduce(1, *) : (shape.first ?? 1) }

    public init(name: String, dtype: DType, shape: [Int], begin: Int, end: Int) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.begin = begin
        self.end = end
    }
}

/// A parsed and validated safetensors header, checked as the reference reader (huggingface/safetensors) does.
public struct SafetensorsHeader: Sendable {
    /// Larger headers are refused, as the reference reader refuses them.
    public static let maxHeaderBytes = 100_000_000

    public var tensors: [TensorEntry]        // in data order
    public var metadata: [String: String]
    public var headerLength: Int
    public var dataStart: Int { 8 + headerLength }

    /// How many leading bytes of a file of `fileSize` bytes, which starts with `start`, `parse` needs: 8 plus the
    /// header length the first 8 declare, or only what is there when that length is over the limit or runs past
    /// the file (`parse` then says which). Unsigned and checked before anything is allocated: as a signed Int, a
    /// length whose top byte is >= 0x80 would be negative.
    public static func prefixLength(_ start: some Collection<UInt8>, fileSize: Int) -> Int {
        guard start.count >= 8 else { return start.count }
        var n: UInt64 = 0
        for (k, b) in start.prefix(8).enumerated() { n |= UInt64(b) << (8 * UInt64(k)) }
        guard n <= UInt64(maxHeaderBytes), Int(n) <= fileSize - 8 else { return 8 }
        return 8 + Int(n)
    }

    /// Parses the header of a container held whole in memory, copying only the header's bytes.
    public static func parse(container: UnsafeRawBufferPointer, file: String) throws(CheckpointError) -> SafetensorsHeader {
        try parse(prefix: Array(container.prefix(prefixLength(container, fileSize: container.count))), fileSize: container.count, file: file)
    }

    /// Parses the header of a file of `fileSize` bytes whose first bytes are `prefix` (at least 8 + header length).
    /// `file` names the file in errors.
    public static func parse(prefix: [UInt8], fileSize: Int, file: String) throws(CheckpointError) -> SafetensorsHeader {
        guard fileSize >= 8, prefix.count >= 8 else {
            throw .malformedHeader(file: file, reason: "file is \(fileSize) bytes, shorter than the 8-byte header length")
        }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(prefix[k]) << (8 * UInt64(k)) }
        guard n <= UInt64(maxHeaderBytes) else {
            throw .malformedHeader(file: file, reason: "header length \(n) exceeds the \(maxHeaderBytes)-byte limit")
        }
        let headerLength = Int(n)
        guard 8 + headerLength <= fileSize else {
            throw .malformedHeader(file: file, reason: "header length \(headerLength) runs past the end of the \(fileSize)-byte file")
        }
        guard prefix.count >= 8 + headerLength else {
            throw .malformedHeader(file: file, reason: "header truncated")
        }
        let bytes = Array(prefix[8..<8 + headerLength])
        guard bytes.first == UInt8(ascii: "{") else {
            throw .malformedHeader(file: file, reason: "header does not start with '{'")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch {
            throw .malformedHeader(file: file, reason: error.description)
        }
        guard let members = json.objectValue else { throw .malformedHeader(file: file, reason: "header is not a JSON object") }

        var metadata: [String: String] = [:]
        var tensors: [TensorEntry] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard let meta = value.objectValue else { throw .malformedHeader(file: file, reason: "__metadata__ is not an object") }
                for (k, v) in meta {
                    guard let s = v.stringValue else { throw .malformedHeader(file: file, reason: "__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            tensors.append(try entry(name: name, value: value, file: file))
        }

        // Offsets must tile the data buffer exactly: sorted, contiguous from 0, ending at the buffer's end.
        tensors.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var expected = 0
        for t in tensors {
            guard t.begin == expected else {
                let what = t.begin < expected ? "overlaps the previous tensor" : "leaves a gap before it"
                throw .malformedTensor(file: file, tensor: t.name, reason: "data_offsets [\(t.begin), \(t.end)] \(what) (expected begin \(expected))")
            }
            expected = t.end
        }
        let bufferSize = fileSize - 8 - headerLength
        guard expected == bufferSize else {
            throw .malformedHeader(file: file, reason: "tensors cover \(expected) bytes but the data buffer holds \(bufferSize)")
        }
        return SafetensorsHeader(tensors: tensors, metadata: metadata, headerLength: headerLength)
    }

    private static func entry(name: String, value: JSONValue, file: String) throws(CheckpointError) -> TensorEntry {
        guard value.objectValue != nil else { throw .malformedTensor(file: file, tensor: name, reason: "entry is not an object") }
        guard let dtypeName = value["dtype"]?.stringValue else { throw .malformedTensor(file: file, tensor: name, reason: "missing dtype") }
        guard let dtype = DType(rawValue: dtypeName) else { throw .unknownDType(file: file, tensor: name, dtype: dtypeName) }
        guard let shapeValues = value["shape"]?.arrayValue else { throw .malformedTensor(file: file, tensor: name, reason: "missing shape") }
        var shape: [Int] = []
        var count: Int = 1
        for s in shapeValues {
            guard let d = s.uint64Value, d <= UInt64(Int.max) else { throw .malformedTensor(file: file, tensor: name, reason: "shape entries must be non-negative integers") }
            let (m, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw .malformedTensor(file: file, tensor: name, reason: "shape \(shapeValues.count)-D element count overflows") }
            count = m
            shape.append(Int(d))
        }
        guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
              let b = offsets[0].uint64Value, let e = offsets[1].uint64Value else {
            throw .malformedTensor(file: file, tensor: name, reason: "data_offsets must be two non-negative integers")
        }
        guard b <= e else { throw .malformedTensor(file: file, tensor: name, reason: "data_offsets begin \(b) is after end \(e)") }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, UInt64(bytes) == e - b else {
            throw .malformedTensor(file: file, tensor: name, reason: "\(dtype.rawValue) x \(shape) needs \(overflow ? "too many" : String(bytes)) bytes but data_offsets span \(e - b)")
        }
        return TensorEntry(name: name, dtype: dtype, shape: shape, begin: Int(b), end: Int(e))
    }
}
