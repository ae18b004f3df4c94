import UQCITProtocol

/// A typed task message from a peer that breaks the contract in proto/uqcit/v2/messages.proto: names the field
/// (as a path from the message that was read, e.g. "TaskAssignment.quantize.analysis.rotation.size") and says how.
public struct WireFormatError: Error, CustomStringConvertible, Sendable, Equatable {
    public let field: String
    public let reason: String
    public init(_ field: String, _ reason: String) { self.field = field; self.reason = reason }
    public var description: String { "\(field): \(reason)" }
}

/// The checks every conversion from the wire shares: counts that must fit an Int, required strings and
/// sub-messages, and enum values this build knows.
enum WireField {
    static func int(_ value: UInt64, _ field: String) throws(WireFormatError) -> Int {
        guard value <= UInt64(Int.max) else { throw WireFormatError(field, "\(value) does not fit a signed 64-bit integer") }
        return Int(value)
    }

    static func ints(_ values: [UInt64], _ field: String) throws(WireFormatError) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(values.count)
        // The element's field path is built only for the error: a quantize task's analysis carries thousands.
        for (k, v) in values.enumerated() {
            guard v <= UInt64(Int.max) else { throw WireFormatError("\(field)[\(k)]", "\(v) does not fit a signed 64-bit integer") }
            out.append(Int(v))
        }
        return out
    }

    static func nonEmpty(_ value: String, _ field: String) throws(WireFormatError) -> String {
        guard !value.isEmpty else { throw WireFormatError(field, "missing") }
        return value
    }

    static func required<M>(_ present: Bool, _ value: M, _ field: String) throws(WireFormatError) -> M {
        guard present else { throw WireFormatError(field, "missing") }
        return value
    }

    /// An enum value that is UNSPECIFIED or not in this build's proto.
    static func badEnum(_ raw: Int, _ field: String) -> WireFormatError {
        WireFormatError(field, raw == 0 ? "missing (UNSPECIFIED)" : "unknown value \(raw)")
    }
}
