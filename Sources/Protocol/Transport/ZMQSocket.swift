import CZMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The socket types the cluster uses.
public enum ZMQSocketType: Sendable {
    /// Coordinator side: routes by peer identity.
    case router
    /// Worker side: asynchronous request/reply with one ROUTER.
    case dealer
    /// One-to-one, e.g. the inproc end of a socket monitor.
    case pair
    /// Strict reply side, e.g. the ZAP handler.
    case reply

    var rawValue: Int32 {
        switch self {
        case .router: return ZMQ_ROUTER
        case .dealer: return ZMQ_DEALER
        case .pair: return ZMQ_PAIR
        case .reply: return ZMQ_REP
        }
    }
}

/// One libzmq socket.
///
/// libzmq sockets are not thread-safe: a socket belongs to one thread, which does every call on it. Create it on
/// that thread, or create it elsewhere and move it with `ZMQSocketHandoff` before that thread starts using it.
/// The socket closes when released, or earlier with `close()`.
public final class ZMQSocket {
    public let context: ZMQContext
    public let type: ZMQSocketType
    private(set) var handle: UnsafeMutableRawPointer?

    public init(context: ZMQContext, type: ZMQSocketType) throws {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError.last("create \(type) socket")
        }
        self.context = context
        self.type = type
        self.handle = handle
    }

    deinit { close() }

    public func bind(_ endpoint: String) throws {
        if zmq_bind(try open("bind \(endpoint)"), endpoint) != 0 { throw ZMQError.last("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        if zmq_connect(try open("connect \(endpoint)"), endpoint) != 0 { throw ZMQError.last("connect \(endpoint)") }
    }

    /// Closes the socket; unsent messages linger as long as the `linger` option allows. Idempotent.
    public func close() {
        guard let handle else { return }
        zmq_close(handle)
        self.handle = nil
    }

    /// Sends `frames` as one multipart message.
    ///
    /// - Returns: false when the message cannot be queued now (high-water mark or send timeout) and nothing was
    ///   sent; with `dontWait` the call never blocks.
    /// - Throws: `ZMQError`, e.g. EHOSTUNREACH from a ROUTER with `routerMandatory` for an unknown peer.
    public func send(frames: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        let socket = try open("send")
        precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = dontWait ? ZMQ_DONTWAIT : 0
            if index < frames.count - 1 { flags |= ZMQ_SNDMORE }
            while frame.withUnsafeBytes({ zmq_send(socket, $0.baseAddress, $0.count, flags) }) < 0 {
                let error = ZMQError.last("send frame \(index + 1) of \(frames.count)")
                if error.errno == EINTR { continue }
                // Later frames of a multipart message are queued with the first, so only the first can back off.
                if error.errno == EAGAIN && index == 0 { return false }
                throw error
            }
        }
        return true
    }

    /// Receives one multipart message.
    ///
    /// - Parameter timeoutMs: how long to wait for it; 0 returns at once, -1 waits forever.
    /// - Returns: the frames, or nil when nothing arrived in time (or a signal cut the wait short).
    public func receive(timeoutMs: Int32) throws -> [[UInt8]]? {
        let socket = try open("receive")
        guard try ZMQPoller.waitForInput(on: socket, timeoutMs: timeoutMs) else { return nil }
        var frames: [[UInt8]] = []
        let message = ZMQMessage()
        repeat {
            // Multipart messages arrive whole, so after the first frame the rest are already queued.
            guard try message.receive(from: socket, dontWait: frames.isEmpty) else { return nil }
            frames.append(message.bytes)
        } while message.hasMore
        return frames
    }

    /// The endpoint last bound or connected, with the port resolved when it was bound as `tcp://host:*`.
    public func lastEndpoint() throws -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        if zmq_getsockopt(try open("read last endpoint"), ZMQ_LAST_ENDPOINT, &buffer, &size) != 0 {
            throw ZMQError.last("read last endpoint")
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The live libzmq handle, or ENOTSOCK once closed.
    func open(_ operation: @autoclosure () -> String) throws -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError(operation: operation(), errno: ENOTSOCK) }
        return handle
    }
}

/// Carries a socket from the thread that made it to the one thread that will own it.
///
/// This is the one sanctioned way to cross threads with a socket, e.g. when it must be bound before its owner
/// thread starts. The sender must not touch the socket after handing it off.
public struct ZMQSocketHandoff: @unchecked Sendable {
    private let socket: ZMQSocket

    public init(_ socket: ZMQSocket) { self.socket = socket }

    /// Called once, on the owner thread.
    public func take() -> ZMQSocket { socket }
}
