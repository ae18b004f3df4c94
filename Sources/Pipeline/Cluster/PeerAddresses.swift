import UQCITProtocol

/// Who is behind a ROUTER routing id, for logs. libzmq tells addresses only through the socket monitor, which
/// knows connections but not routing ids, so the two are paired by order: the monitor's handshake event for a
/// tcp connection is queued before that connection's first message is readable, and the loop drains the monitor
/// first, so a routing id seen for the first time belongs to the oldest handshake not yet paired. Two peers
/// connecting within the same instant may be swapped; the address is a hint for the operator, never used for
/// decisions.
struct PeerAddresses {
    static let inprocPrefix: [UInt8] = Array("inproc:".utf8)

    private var unpaired: [String] = []
    private var byPeer: [[UInt8]: String] = [:]

    /// Records a monitor event; returns a line worth logging, if any.
    mutating func note(_ event: ZMQSocketEvent) -> String? {
        let address = event.peerAddress
        switch event.kind {
        case .handshakeSucceeded:
            unpaired.append(address)
            return nil
        case .handshakeFailedProtocol:
            return "handshake with \(address) failed: ZMTP/CURVE protocol error 0x\(String(event.value, radix: 16)) (not a \(WireProtocol.name) worker, or wrong keys)"
        case .handshakeFailedNoDetail:
            return "handshake with \(address) failed: the peer broke it off or sent something that is not ZMTP"
        case .handshakeFailedAuth:
            return "handshake with \(address) refused by the ZAP handler (status \(event.value))"
        case .disconnected:
            if let i = unpaired.firstIndex(of: address) {
                unpaired.remove(at: i)
                return "connection from \(address) closed before it delivered a message (a frame over the size limit, or a protocol error)"
            }
            for (id, a) in byPeer where a == address { byPeer[id] = nil }
            return nil
        default:
            return nil
        }
    }

    /// The address of a routing id, pairing it with the oldest unpaired handshake the first time it is seen.
    mutating func address(of id: [UInt8]) -> String {
        if let a = byPeer[id] { return a }
        let a = id.starts(with: Self.inprocPrefix) ? "inproc" : (unpaired.isEmpty ? "unknown address" : unpaired.removeFirst())
        byPeer[id] = a
        return a
    }

    static func label(_ id: [UInt8]) -> String {
        if id.starts(with: inprocPrefix) { return String(decoding: id, as: UTF8.self) }
        return "0x" + id.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
