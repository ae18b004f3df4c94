import CZMQ

/// The socket options the cluster sets, each with the C type libzmq expects for it.
public enum ZMQSocketOption: Sendable, Equatable {
    /// How long unsent messages keep a closing socket (and its context) alive; -1 forever, 0 drop at once.
    case linger(milliseconds: Int32)
    /// ROUTER: fail with EHOSTUNREACH instead of silently dropping a message to an unknown peer.
    case routerMandatory(Bool)
    /// Largest inbound frame; a peer sending a larger one is disconnected. -1 for no limit.
    case maxMessageSize(bytes: Int64)
    case sendHighWaterMark(messages: Int32)
    case receiveHighWaterMark(messages: Int32)
    /// The identity a ROUTER peer sees for this socket; set before connect. 1 to 255 bytes.
    case routingId([UInt8])
    /// Take the CURVE server role; the socket then needs `curveSecretKey`.
    case curveServer(Bool)
    /// This socket's long-term CURVE keys, Z85 text (40 characters).
    case curvePublicKey(String)
    case curveSecretKey(String)
    /// Client: the server's public key, Z85 text; the handshake fails against any other server.
    case curveServerKey(String)
    /// The ZAP domain sent with authentication requests for this socket.
    case zapDomain(String)
    /// Strict RFC 27: ask the ZAP handler only when a domain is set, and fail the handshake when none answers.
    case zapEnforceDomain(Bool)
    /// Upper bound on a blocking receive; -1 forever.
    case receiveTimeout(milliseconds: Int32)
}

/// A draft option in zmq.h 4.3 (hidden unless ZMQ_BUILD_DRAFT_API), accepted by stable libzmq 4.3 builds.
private let ZMQ_ZAP_ENFORCE_DOMAIN: Int32 = 93

extension ZMQSocket {
    public func set(_ option: ZMQSocketOption) throws {
        let socket = try open("set \(Self.name(of: option))")
        let status: Int32
        switch option {
        case .linger(let value): status = setInt32(socket, ZMQ_LINGER, value)
        case .routerMandatory(let on): status = setInt32(socket, ZMQ_ROUTER_MANDATORY, on ? 1 : 0)
        case .maxMessageSize(let bytes):
            var value = bytes
            status = zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size)
        case .sendHighWaterMark(let messages): status = setInt32(socket, ZMQ_SNDHWM, messages)
        case .receiveHighWaterMark(let messages): status = setInt32(socket, ZMQ_RCVHWM, messages)
        case .routingId(let id): status = setBytes(socket, ZMQ_ROUTING_ID, id)
        case .curveServer(let on): status = setInt32(socket, ZMQ_CURVE_SERVER, on ? 1 : 0)
        case .curvePublicKey(let z85): status = setBytes(socket, ZMQ_CURVE_PUBLICKEY, Array(z85.utf8))
        case .curveSecretKey(let z85): status = setBytes(socket, ZMQ_CURVE_SECRETKEY, Array(z85.utf8))
        case .curveServerKey(let z85): status = setBytes(socket, ZMQ_CURVE_SERVERKEY, Array(z85.utf8))
        case .zapDomain(let domain): status = setBytes(socket, ZMQ_ZAP_DOMAIN, Array(domain.utf8))
        case .zapEnforceDomain(let on): status = setInt32(socket, ZMQ_ZAP_ENFORCE_DOMAIN, on ? 1 : 0)
        case .receiveTimeout(let value): status = setInt32(socket, ZMQ_RCVTIMEO, value)
        }
        if status != 0 { throw ZMQError.last("set \(Self.name(of: option))") }
    }

    public func set(_ options: [ZMQSocketOption]) throws {
        for option in options { try set(option) }
    }

    private func setInt32(_ socket: UnsafeMutableRawPointer, _ name: Int32, _ value: Int32) -> Int32 {
        var value = value
        return zmq_setsockopt(socket, name, &value, MemoryLayout<Int32>.size)
    }

    private func setBytes(_ socket: UnsafeMutableRawPointer, _ name: Int32, _ value: [UInt8]) -> Int32 {
        value.withUnsafeBytes { zmq_setsockopt(socket, name, $0.baseAddress, $0.count) }
    }

    /// The option without its value, so that error messages never print a secret key.
    private static func name(of option: ZMQSocketOption) -> String {
        switch option {
        case .curveSecretKey: return "curveSecretKey"
        default: return "\(option)"
        }
    }
}
