/// Everything that can be wrong with a GGUF file read or written here. Each case names the file and, where there
/// is one, the metadata key or tensor.
public enum GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
    case io(file: String, reason: String)
    case malformedHeader(file: String, reason: String)
    case badKey(file: String, key: String, reason: String)
    case badTensor(file: String, tensor: String, reason: String)
    case unknownTensorType(file: String, tensor: String, typeID: UInt32)
    case nonFinite(file: String, tensor: String, row: Int, column: Int)
    case unsupported(file: String, reason: String)

    public var description: String {
        switch self {
        case let .io(f, r): return "\(f): \(r)"
        case let .malformedHeader(f, r): return "\(f): malformed GGUF header: \(r)"
        case let .badKey(f, k, r): return "\(f): metadata key '\(k)': \(r)"
        case let .badTensor(f, t, r): return "\(f): tensor '\(t)': \(r)"
        case let .unknownTensorType(f, t, id):
            return "\(f): tensor '\(t)': ggml type \(id) is not one this tool reads (\(GGMLType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .nonFinite(f, t, r, c): return "\(f): tensor '\(t)': NaN or Inf at row \(r), column \(c)"
        case let .unsupported(f, r): return "\(f): \(r)"
        }
    }

    /// A positional read's failure, as a GGUF error on the same file.
    static func from(_ e: CheckpointError, file: String) -> GGUFError {
        .io(file: file, reason: e.description)
    }
}
