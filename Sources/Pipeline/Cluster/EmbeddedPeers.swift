/// Workers on inproc:// name their routing ids with this prefix, so the broker logs them by name and does not
/// look for a network address behind them.
package enum EmbeddedPeers {
    package static let routingIDPrefix: [UInt8] = Array("inproc:".utf8)
}
