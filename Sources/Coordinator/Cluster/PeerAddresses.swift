import Foundation
import Pipeline
import UQCITProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Who is behind a ROUTER routing id, for logs. libzmq tells about connections only through the socket monitor,
/// whose events on a bound socket carry the local endpoint, and never the routing id. So: the ACCEPTED event
/// carries the connection's file descriptor, whose remote address `getpeername` gives; a connection's first
/// message becomes readable only after its handshake event, and the loop drains the monitor first, so a routing
/// id seen for the first time belongs to the oldest accepted connection whose handshake may have succeeded.
/// libzmq may report a handshake before the accept itself, so handshakes are counted rather than matched.
/// Two peers connecting in the same instant, or a connection that stalls in its handshake while others complete
/// theirs, may be swapped; a connection that fails its handshake at once may be closed before its address can
/// be read. The address is a hint for the operator, never used for decisions.
struct PeerAddresses {
    private var byDescriptor: [UInt32: String] = [:]
    /// Accepted connections not yet paired with a routing id, oldest first.
    private var awaiting: [String] = []
    /// Handshakes that succeeded and whose connection has not sent its first message yet.
    private var handshakes = 0
    private var byPeer: [[UInt8]: String] = [:]

    /// Records a monitor event; returns a line worth logging, if any.
    mutating func note(_ event: ZMQSocketEvent) -> String? {
        switch event.kind {
        case .accepted:
            let address = Self.remoteAddress(descriptor: Int32(bitPattern: event.value)) ?? "a peer that already hung up"
            byDescriptor[event.value] = address
            awaiting.append(address)
            return nil
        case .handshakeSucceeded:
            handshakes += 1
            return nil
        case .handshakeFailedProtocol:
            return "handshake with \(nextFailed()) failed: ZMTP/CURVE protocol error 0x\(String(event.value, radix: 16)) (not a \(WireProtocol.name) worker, or wrong keys)"
        case .handshakeFailedNoDetail:
            return "handshake with \(nextFailed()) failed: the peer broke it off or sent something that is not ZMTP"
        case .handshakeFailedAuth:
            return "handshake with \(nextFailed()) refused by the ZAP handler (status \(event.value))"
        case .disconnected:
            guard let address = byDescriptor.removeValue(forKey: event.value) else { return nil }
            if let i = awaiting.firstIndex(of: address) {
                awaiting.remove(at: i)
                handshakes = max(0, handshakes - 1)
                return "connection from \(address) closed before it delivered a message (a frame over the size limit, or a protocol error)"
            }
            for (id, a) in byPeer where a == address { byPeer[id] = nil }
            return nil
        default:
            return nil
        }
    }

    private mutating func nextFailed() -> String {
        awaiting.count > handshakes ? awaiting.remove(at: handshakes) : "a peer that already hung up"
    }

    /// The address of a routing id, pairing it with the oldest unpaired handshake the first time it is seen.
    mutating func address(of id: [UInt8]) -> String {
        if let a = byPeer[id] { return a }
        var a = "inproc"
        if !EmbeddedPeers.isThisProcess(id) {
            a = awaiting.isEmpty ? "an unknown address" : awaiting.removeFirst()
            handshakes = max(0, handshakes - 1)
        }
        byPeer[id] = a
        return a
    }

    static func label(_ id: [UInt8]) -> String {
        // Only this process's own ids are shown as text: another peer's bytes could be anything, newlines included.
        if EmbeddedPeers.isThisProcess(id) { return EmbeddedPeers.label(id) }
        return "0x" + id.map { String(format: "%02x", $0) }.joined()
    }

    /// "tcp://HOST:PORT" of the other end of a connected socket.
    static func remoteAddress(descriptor fd: Int32) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST)), port = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &port, socklen_t(port.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard rc == 0 else { return nil }
        func text(_ chars: [CChar]) -> String { String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        let h = text(host), p = text(port)
        return "tcp://" + (h.contains(":") ? "[\(h)]" : h) + ":" + p
    }
}
