/// Everything that can be wrong with a source checkpoint. Each case names the file and, where there is one,
/// the tensor, so that a user with a 400-file checkpoint knows where to look.
public enum CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingFolder(String)
    case missingFile(String)
    case unreadable(file: String, reason: String)
    case malformedHeader(file: String, reason: String)
    case malformedTensor(file: String, tensor: String, reason: String)
    case unknownDType(file: String, tensor: String, dtype: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case badIndex(file: String, reason: String)
    case hostileName(file: String, tensor: String)
    case nonFinite(file: String, tensor: String, row: Int, column: Int)

    public var description: String {
        switch self {
        case .missingFolder(let p): return "\(p): no such model folder"
        case .missingFile(let p): return "\(p): file not found"
        case let .unreadable(f, r): return "\(f): cannot read: \(r)"
        case let .malformedHeader(f, r): return "\(f): malformed safetensors header: \(r)"
        case let .malformedTensor(f, t, r): return "\(f): tensor '\(t)': \(r)"
        case let .unknownDType(f, t, d): return "\(f): tensor '\(t)': unknown dtype '\(d)'"
        case let .unsupportedDType(f, t, d): return "\(f): tensor '\(t)': dtype \(d) cannot be compressed (F32, F16 and BF16 can)"
        case let .badIndex(f, r): return "\(f): \(r)"
        case let .hostileName(f, t): return "\(f): tensor name '\(t)' is not allowed (it could escape the output folder or is not a plain tensor name)"
        case let .nonFinite(f, t, r, c): return "\(f): tensor '\(t)': NaN or Inf at row \(r), column \(c)"
        }
    }
}
