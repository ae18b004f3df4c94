import CZMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One received frame in a libzmq message buffer.
///
/// zmq_msg_t may point into itself, so it must stay at one address from init to close: it lives on the heap.
final class ZMQMessage {
    private let message: UnsafeMutablePointer<zmq_msg_t>

    init() {
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }

    /// Receives the next frame of `socket` into this buffer; false when `dontWait` is set and none is ready.
    func receive(from socket: UnsafeMutableRawPointer, dontWait: Bool) throws -> Bool {
        while zmq_msg_recv(message, socket, dontWait ? ZMQ_DONTWAIT : 0) < 0 {
            let error = ZMQError.last("receive frame")
            if error.errno == EINTR { continue }
            if error.errno == EAGAIN { return false }
            throw error
        }
        return true
    }

    var bytes: [UInt8] {
        let count = zmq_msg_size(message)
        guard count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: count))
    }

    /// Whether more frames of the same multipart message follow.
    var hasMore: Bool { zmq_msg_more(message) != 0 }
}
