import CZMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits until any of a set of sockets, all owned by the calling thread, has a message to read.
public struct ZMQPoller {
    public let sockets: [ZMQSocket]

    public init(_ sockets: [ZMQSocket]) {
        self.sockets = sockets
    }

    /// - Parameter timeoutMs: 0 returns at once, -1 waits forever.
    /// - Returns: indices into `sockets` of those with input, in order; empty on timeout or when a signal
    ///   interrupted the wait (callers poll in a loop anyway).
    public func readable(timeoutMs: Int32) throws -> [Int] {
        var items = try sockets.map { socket in
            zmq_pollitem_t(socket: try socket.open("poll"), fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        }
        guard try Self.poll(&items, timeoutMs: timeoutMs) else { return [] }
        return items.indices.filter { items[$0].revents & Int16(ZMQ_POLLIN) != 0 }
    }

    static func waitForInput(on socket: UnsafeMutableRawPointer, timeoutMs: Int32) throws -> Bool {
        var items = [zmq_pollitem_t(socket: socket, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)]
        return try poll(&items, timeoutMs: timeoutMs)
    }

    /// True when some item is ready.
    private static func poll(_ items: inout [zmq_pollitem_t], timeoutMs: Int32) throws -> Bool {
        let ready = zmq_poll(&items, Int32(items.count), Int(timeoutMs))
        if ready < 0 {
            let error = ZMQError.last("poll \(items.count) sockets")
            if error.errno == EINTR { return false }
            throw error
        }
        return ready > 0
    }
}
