import CZMQ

/// A failed libzmq call: what was being done, and libzmq's errno and text for it.
public struct ZMQError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The operation, e.g. "bind tcp://0.0.0.0:5555".
    public let operation: String
    public let errno: Int32
    public let message: String

    public init(operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
        self.message = String(cString: zmq_strerror(errno))
    }

    /// The error of the libzmq call that just failed on this thread; call before anything else can touch errno.
    static func last(_ operation: @autoclosure () -> String) -> ZMQError {
        let code = zmq_errno()
        return ZMQError(operation: operation(), errno: code)
    }

    public var description: String { "\(operation): \(message) (errno \(errno))" }
}
