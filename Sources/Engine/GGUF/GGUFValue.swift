/// The metadata value types of GGUF (gguf_type in llama.cpp's gguf.h), with their numbers as stored.
public enum GGUFValueType: UInt32, Sendable, Codable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8
    case array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes of one value of a fixed-size type; nil for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    /// The fewest bytes one value can take in a file: what bounds an array's count by the bytes left.
    var minimumEncodedSize: Int {
        switch self {
        case .string: 8                 // its length
        case .array: 12                 // element type and count
        default: fixedSize!
        }
    }
}

/// One GGUF metadata value. Arrays carry their element type so an empty array keeps it and nested arrays are
/// typed at every level, as the format stores them.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// Any integer type as Int, when it fits.
    public var intValue: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// Either float type, or an integer, as Double.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: intValue.map(Double.init)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [GGUFValue]? { if case .array(_, let a) = self { return a }; return nil }

    /// Whether every element of an array has the declared element type (nested arrays checked too).
    public var isWellTyped: Bool {
        guard case let .array(elementType, items) = self else { return true }
        return items.allSatisfy { $0.type == elementType && $0.isWellTyped }
    }

    public static func strings(_ items: [String]) -> GGUFValue { .array(.string, items.map(GGUFValue.string)) }
}

/// Stored as {"type": "uint32", "value": 7}; arrays as {"type": "array", "element": "string", "value": [...]},
/// scalar elements inline so a vocabulary stays compact. Floats are stored as their bit patterns (JSON numbers
/// would not keep NaN or every last bit), so a package's JSON keeps each value exactly, with its GGUF type.
extension GGUFValue: Codable {
    private enum Key: String, CodingKey { case type, element, value }

    private static let typeNames: [GGUFValueType: String] = [
        .uint8: "uint8", .int8: "int8", .uint16: "uint16", .int16: "int16", .uint32: "uint32", .int32: "int32",
        .uint64: "uint64", .int64: "int64", .float32: "float32", .float64: "float64", .bool: "bool",
        .string: "string", .array: "array",
    ]

    /// A scalar's JSON form: integers and float bit patterns as numbers, strings, booleans.
    private enum Payload: Codable {
        case unsigned(UInt64), signed(Int64), string(String), bool(Bool)

        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .unsigned(let v): try c.encode(v)
            case .signed(let v): try c.encode(v)
            case .string(let v): try c.encode(v)
            case .bool(let v): try c.encode(v)
            }
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let v = try? c.decode(Bool.self) { self = .bool(v) }
            else if let v = try? c.decode(UInt64.self) { self = .unsigned(v) }
            else if let v = try? c.decode(Int64.self) { self = .signed(v) }
            else { self = .string(try c.decode(String.self)) }
        }

        var signedValue: Int64? {
            switch self {
            case .unsigned(let v): Int64(exactly: v)
            case .signed(let v): v
            default: nil
            }
        }
        var unsignedValue: UInt64? {
            switch self {
            case .unsigned(let v): v
            case .signed(let v): UInt64(exactly: v)
            default: nil
            }
        }
    }

    private var payload: Payload {
        switch self {
        case .uint8(let v): .unsigned(UInt64(v))
        case .uint16(let v): .unsigned(UInt64(v))
        case .uint32(let v): .unsigned(UInt64(v))
        case .uint64(let v): .unsigned(v)
        case .int8(let v): .signed(Int64(v))
        case .int16(let v): .signed(Int64(v))
        case .int32(let v): .signed(Int64(v))
        case .int64(let v): .signed(v)
        case .float32(let v): .unsigned(UInt64(v.bitPattern))
        case .float64(let v): .unsigned(v.bitPattern)
        case .bool(let v): .bool(v)
        case .string(let v): .string(v)
        case .array: preconditionFailure("arrays have no scalar payload")
        }
    }

    /// The scalar of `type` that `p` holds, or nil when it does not fit.
    private static func scalar(_ type: GGUFValueType, _ p: Payload) -> GGUFValue? {
        switch (type, p) {
        case (.bool, .bool(let v)): return .bool(v)
        case (.string, .string(let v)): return .string(v)
        case (.uint8, _): return p.unsignedValue.flatMap(UInt8.init(exactly:)).map(GGUFValue.uint8)
        case (.uint16, _): return p.unsignedValue.flatMap(UInt16.init(exactly:)).map(GGUFValue.uint16)
        case (.uint32, _): return p.unsignedValue.flatMap(UInt32.init(exactly:)).map(GGUFValue.uint32)
        case (.uint64, _): return p.unsignedValue.map(GGUFValue.uint64)
        case (.int8, _): return p.signedValue.flatMap(Int8.init(exactly:)).map(GGUFValue.int8)
        case (.int16, _): return p.signedValue.flatMap(Int16.init(exactly:)).map(GGUFValue.int16)
        case (.int32, _): return p.signedValue.flatMap(Int32.init(exactly:)).map(GGUFValue.int32)
        case (.int64, _): return p.signedValue.map(GGUFValue.int64)
        case (.float32, _): return p.unsignedValue.flatMap(UInt32.init(exactly:)).map { .float32(Float(bitPattern: $0)) }
        case (.float64, _): return p.unsignedValue.map { .float64(Double(bitPattern: $0)) }
        default: return nil
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(Self.typeNames[type]!, forKey: .type)
        guard case let .array(element, items) = self else { return try c.encode(payload, forKey: .value) }
        try c.encode(Self.typeNames[element]!, forKey: .element)
        // Typed arrays: the same JSON as their payloads', without a container per element.
        func typed<T: Encodable>(_ scalar: (Payload) -> T?) throws {
            var values: [T] = []
            values.reserveCapacity(items.count)
            for item in items {
                guard item.type == element, let v = scalar(item.payload) else {
                    throw EncodingError.invalidValue(item, .init(codingPath: c.codingPath, debugDescription: "an array of \(Self.typeNames[element]!) holds a \(Self.typeNames[item.type]!)"))
                }
                values.append(v)
            }
            try c.encode(values, forKey: .value)
        }
        switch element {
        case .array: try c.encode(items, forKey: .value)
        case .string: try typed { if case .string(let v) = $0 { v } else { nil } }
        case .bool: try typed { if case .bool(let v) = $0 { v } else { nil } }
        case .int8, .int16, .int32, .int64: try typed(\.signedValue)
        default: try typed(\.unsignedValue)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func type(_ key: Key) throws -> GGUFValueType {
            let name = try c.decode(String.self, forKey: key)
            guard let t = Self.typeNames.first(where: { $0.value == name })?.key else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "unknown GGUF value type '\(name)'")
            }
            return t
        }
        func bad(_ what: String) -> DecodingError { .dataCorruptedError(forKey: .value, in: c, debugDescription: what) }
        let t = try type(.type)
        guard t == .array else {
            guard let v = Self.scalar(t, try c.decode(Payload.self, forKey: .value)) else { throw bad("value is not a \(Self.typeNames[t]!)") }
            self = v
            return
        }
        let element = try type(.element)
        if element == .array {
            let items = try c.decode([GGUFValue].self, forKey: .value)
            guard items.allSatisfy({ $0.type == .array }) else { throw bad("nested array holds a non-array") }
            self = .array(.array, items)
        } else {
            // Read as the element type says: a Payload tries each JSON kind in turn, and each failed try is a
            // thrown error, which on a 49k-token vocabulary was most of an export's time.
            let payloads: [Payload]
            switch element {
            case .string: payloads = try c.decode([String].self, forKey: .value).map(Payload.string)
            case .bool: payloads = try c.decode([Bool].self, forKey: .value).map(Payload.bool)
            case .int8, .int16, .int32, .int64: payloads = try c.decode([Int64].self, forKey: .value).map(Payload.signed)
            default: payloads = try c.decode([UInt64].self, forKey: .value).map(Payload.unsigned)  // unsigned and float bit patterns
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(payloads.count)
            for p in payloads {
                guard let v = Self.scalar(element, p) else { throw bad("array element is not a \(Self.typeNames[element]!)") }
                items.append(v)
            }
            self = .array(element, items)
        }
    }
}
