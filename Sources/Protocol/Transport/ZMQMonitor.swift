import CZMQ
import Foundation

/// A connection-level event on a monitored socket, with the peer it concerns.
public struct ZMQSocketEvent: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case connected, connectDelayed, connectRetried
        case listening, bindFailed
        case accepted, acceptFailed
        case closed, closeFailed, disconnected
        case handshakeSucceeded
        /// The peer broke off the handshake, e.g. it disconnected or timed out.
        case handshakeFailedNoDetail
        /// Bad ZMTP or security traffic; `value` is a ZMQ_PROTOCOL_ERROR_* code (e.g. a wrong CURVE key).
        case handshakeFailedProtocol
        /// The ZAP handler refused the peer; `value` is its status code (e.g. 400).
        case handshakeFailedAuth
        case monitorStopped
        case other(UInt16)

        init(rawValue: UInt16) {
            switch Int32(rawValue) {
            case ZMQ_EVENT_CONNECTED: self = .connected
            case ZMQ_EVENT_CONNECT_DELAYED: self = .connectDelayed
            case ZMQ_EVENT_CONNECT_RETRIED: self = .connectRetried
            case ZMQ_EVENT_LISTENING: self = .listening
            case ZMQ_EVENT_BIND_FAILED: self = .bindFailed
            case ZMQ_EVENT_ACCEPTED: self = .accepted
            case ZMQ_EVENT_ACCEPT_FAILED: self = .acceptFailed
            case ZMQ_EVENT_CLOSED: self = .closed
            case ZMQ_EVENT_CLOSE_FAILED: self = .closeFailed
            case ZMQ_EVENT_DISCONNECTED: self = .disconnected
            case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: self = .handshakeSucceeded
            case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: self = .handshakeFailedNoDetail
            case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: self = .handshakeFailedProtocol
            case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: self = .handshakeFailedAuth
            case ZMQ_EVENT_MONITOR_STOPPED: self = .monitorStopped
            default: self = .other(rawValue)
            }
        }
    }

    public let kind: Kind
    /// Depends on `kind`: a file descriptor, an errno, a protocol error code or a ZAP status code.
    public let value: UInt32
    /// The remote (or, for listening and bind events, local) endpoint, e.g. "tcp://10.0.0.7:41234".
    public let peerAddress: String

    public var isHandshakeFailure: Bool {
        switch kind {
        case .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth: return true
        default: return false
        }
    }

    public var description: String { "\(kind) \(peerAddress) (\(value))" }
}

/// Reports connection events of one socket, so that the owner can log who connected and whose traffic was bad.
///
/// libzmq publishes the events on an inproc PAIR; this holds the receiving end. It belongs to the thread that owns
/// the monitored socket, which can add `socket` to its `ZMQPoller` next to the monitored one.
public final class ZMQMonitor {
    public let monitored: ZMQSocket
    public let socket: ZMQSocket

    /// Every event kind libzmq 4.3 reports.
    public static let allEvents = ZMQ_EVENT_ALL

    public init(monitoring monitored: ZMQSocket, events: Int32 = ZMQMonitor.allEvents) throws {
        let endpoint = "inproc://uqcit.monitor.\(UUID().uuidString)"
        if zmq_socket_monitor(try monitored.open("monitor socket"), endpoint, events) != 0 {
            throw ZMQError.last("monitor socket on \(endpoint)")
        }
        let socket = try ZMQSocket(context: monitored.context, type: .pair)
        try socket.set(.linger(milliseconds: 0))
        try socket.connect(endpoint)
        self.monitored = monitored
        self.socket = socket
    }

    deinit { close() }

    /// The next event, or nil when none came within `timeoutMs` (-1 waits forever).
    public func nextEvent(timeoutMs: Int32) throws -> ZMQSocketEvent? {
        guard let frames = try socket.receive(timeoutMs: timeoutMs) else { return nil }
        // Frame 1: 16-bit event id then 32-bit value, native byte order. Frame 2: the endpoint.
        guard frames.count == 2, frames[0].count == 6 else {
            throw ZMQError(operation: "decode monitor event of \(frames.map(\.count)) bytes", errno: EPROTO)
        }
        let header = frames[0]
        let id = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt16.self) }
        let value = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self) }
        return ZMQSocketEvent(
            kind: ZMQSocketEvent.Kind(rawValue: id), value: value,
            peerAddress: String(decoding: frames[1], as: UTF8.self))
    }

    /// Stops monitoring and closes the event socket. Idempotent.
    public func close() {
        if let handle = monitored.handle { zmq_socket_monitor(handle, nil, 0) }
        socket.close()
    }
}
