/// Why bytes received from a peer are not a usable envelope.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not a protobuf `uqcit.v2.Envelope`.
    case malformed(String)
    /// The peer speaks another protocol version.
    case versionMismatch(got: UInt32, expected: UInt32)
    /// The envelope carries no message body.
    case emptyBody

    public var description: String {
        switch self {
        case .malformed(let detail):
            return "malformed \(WireProtocol.name) envelope: \(detail)"
        case .versionMismatch(let got, let expected):
            return "protocol version mismatch: peer sent version \(got), this build speaks version \(expected)"
        case .emptyBody:
            return "\(WireProtocol.name) envelope has no body"
        }
    }
}
