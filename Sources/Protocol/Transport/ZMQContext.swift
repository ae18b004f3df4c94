import CZMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one libzmq context: the I/O threads and the inproc:// namespace shared by its sockets.
///
/// libzmq contexts are thread-safe, so one context may be shared by every thread. Sockets keep their context
/// alive; the context is terminated when the last reference goes, which waits for sockets to finish lingering.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    public let ioThreads: Int32

    /// `maxSockets`: libzmq's default of 1023 is too few for a simulated farm of 1,000 workers in one context.
    public init(ioThreads: Int32 = 1, maxSockets: Int32? = nil) throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("create context") }
        if zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) != 0 {
            let error = ZMQError.last("set \(ioThreads) I/O threads")
            zmq_ctx_term(handle)
            throw error
        }
        if let maxSockets, zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, maxSockets) != 0 {
            let error = ZMQError.last("allow \(maxSockets) sockets")
            zmq_ctx_term(handle)
            throw error
        }
        self.handle = handle
        self.ioThreads = ioThreads
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
