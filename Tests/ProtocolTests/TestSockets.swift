import UQCITProtocol
import XCTest

/// Sockets for tests: zero linger so a test never waits on undelivered messages when its context goes away.
func makeSocket(_ context: ZMQContext, _ type: ZMQSocketType, _ options: [ZMQSocketOption] = []) throws -> ZMQSocket {
    let socket = try ZMQSocket(context: context, type: type)
    try socket.set([.linger(milliseconds: 0)] + options)
    return socket
}

/// Binds to an ephemeral loopback port and returns the endpoint peers should connect to.
func bindLoopback(_ socket: ZMQSocket) throws -> String {
    try socket.bind("tcp://127.0.0.1:*")
    return try socket.lastEndpoint()
}

/// Checks `condition` until it holds or `seconds` pass; the result says which.
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
