/// Where the broker's messages to its peers go: the ROUTER socket when serving, a recording fake in tests.
protocol PeerOutbox {
    /// Sends one envelope to `peer` without blocking; false when the peer is gone or cannot take it now.
    func send(_ peer: [UInt8], _ bytes: [UInt8]) -> Bool
}
