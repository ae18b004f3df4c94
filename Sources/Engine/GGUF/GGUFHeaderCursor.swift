/// What a header field belongs to, so a short or bad field is reported against the right key or tensor.
enum GGUFSubject {
    case header(String)
    case key(String)
    case tensor(String)

    func error(file: String, _ reason: String) -> GGUFError {
        switch self {
        case .header(let what): .malformedHeader(file: file, reason: "\(what): \(reason)")
        case .key(let k): .badKey(file: file, key: k, reason: reason)
        case .tensor(let t): .badTensor(file: file, tensor: t, reason: reason)
        }
    }
}

/// Reads a GGUF header's little-endian fields in order through a window of the file, so a header of any size is
/// parsed without loading the file, and every count and length is checked against the bytes the file has left
/// before anything is allocated for it.
struct GGUFHeaderCursor {
    let file: PositionalFile
    private(set) var offset = 0
    private var window: [UInt8] = []
    private var windowStart = 0
    private static let windowBytes = 1 << 20
    /// Arrays longer than this are refused: the longest real ones (vocabularies) hold a few hundred thousand
    /// entries, and each element costs far more in memory than its bytes in the file.
    static let maxArrayElements = 1 << 24
    /// Nesting deeper than this is refused, so a hostile file cannot exhaust the stack.
    static let maxArrayDepth = 8

    init(file: PositionalFile) { self.file = file }

    var path: String { file.path }
    var remaining: Int { file.size - offset }

    /// The next `count` bytes, refusing to read past the end of the file.
    mutating func take(_ count: Int, _ subject: GGUFSubject, _ what: String) throws(GGUFError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw subject.error(file: path, "\(what) needs \(count) bytes at offset \(offset) but the file has \(remaining) left (truncated?)")
        }
        if offset < windowStart || offset + count > windowStart + window.count {
            let n = min(max(count, Self.windowBytes), remaining)
            do { window = try file.read(offset: offset, count: n) } catch { throw GGUFError.from(error, file: path) }
            windowStart = offset
        }
        let lo = offset - windowStart
        offset += count
        return window[lo..<lo + count]
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type, _ subject: GGUFSubject, _ what: String) throws(GGUFError) -> T {
        let bytes = try take(MemoryLayout<T>.size, subject, what)
        var v = T.zero
        for (k, b) in bytes.enumerated() { v |= T(truncatingIfNeeded: b) << (8 * k) }
        return v
    }

    /// A count or length stored as uint64, checked to fit an Int.
    mutating func length(_ subject: GGUFSubject, _ what: String) throws(GGUFError) -> Int {
        let v = try integer(UInt64.self, subject, what)
        guard v <= UInt64(Int.max) else { throw subject.error(file: path, "\(what) \(v) is out of range") }
        return Int(v)
    }

    mutating func string(_ subject: GGUFSubject, _ what: String) throws(GGUFError) -> String {
        let n = try length(subject, "\(what) length")
        guard n <= remaining else {
            throw subject.error(file: path, "\(what) length \(n) runs past the end of the file (\(remaining) bytes left)")
        }
        let bytes = try take(n, subject, what)
        guard let s = String(validating: bytes, as: UTF8.self) else { throw subject.error(file: path, "\(what) is not valid UTF-8") }
        return s
    }

    mutating func valueType(_ subject: GGUFSubject, _ what: String) throws(GGUFError) -> GGUFValueType {
        let raw = try integer(UInt32.self, subject, what)
        guard let t = GGUFValueType(rawValue: raw) else { throw subject.error(file: path, "\(what) \(raw) is not a GGUF value type") }
        return t
    }

    mutating func value(_ type: GGUFValueType, _ subject: GGUFSubject, depth: Int = 0) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try integer(UInt8.self, subject, "uint8 value"))
        case .int8: return .int8(try integer(Int8.self, subject, "int8 value"))
        case .uint16: return .uint16(try integer(UInt16.self, subject, "uint16 value"))
        case .int16: return .int16(try integer(Int16.self, subject, "int16 value"))
        case .uint32: return .uint32(try integer(UInt32.self, subject, "uint32 value"))
        case .int32: return .int32(try integer(Int32.self, subject, "int32 value"))
        case .uint64: return .uint64(try integer(UInt64.self, subject, "uint64 value"))
        case .int64: return .int64(try integer(Int64.self, subject, "int64 value"))
        case .float32: return .float32(Float(bitPattern: try integer(UInt32.self, subject, "float32 value")))
        case .float64: return .float64(Double(bitPattern: try integer(UInt64.self, subject, "float64 value")))
        case .bool:
            let b = try integer(UInt8.self, subject, "bool value")
            guard b <= 1 else { throw subject.error(file: path, "bool value \(b) is neither 0 nor 1") }
            return .bool(b == 1)
        case .string: return .string(try string(subject, "string value"))
        case .array:
            guard depth < Self.maxArrayDepth else { throw subject.error(file: path, "arrays nested deeper than \(Self.maxArrayDepth)") }
            let element = try valueType(subject, "array element type")
            let count = try length(subject, "array length")
            guard count <= remaining / element.minimumEncodedSize else {
                throw subject.error(file: path, "array of \(count) elements cannot fit in the \(remaining) bytes left in the file")
            }
            guard count <= Self.maxArrayElements else {
                throw subject.error(file: path, "array of \(count) elements exceeds the limit of \(Self.maxArrayElements)")
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try value(element, subject, depth: depth + 1)) }
            return .array(element, items)
        }
    }
}
