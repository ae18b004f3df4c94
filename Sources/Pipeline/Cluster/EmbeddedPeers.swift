import Foundation

/// Workers on inproc:// (embedded and simulated ones) name their routing ids with this prefix and
/// `processToken`, random bits that never leave this process, so the broker logs them by name, looks for no
/// network address behind them, and believes the digests of the tiles they hashed as they wrote them (see
/// BrokerCore's results). The prefix alone proves nothing, since a remote DEALER may set any routing id: only an
/// id carrying the token counts as this process's own (`isThisProcess`).
package enum EmbeddedPeers {
    package static let routingIDPrefix: [UInt8] = Array("inproc:".utf8)
    private static let processToken: [UInt8] = Array(UUID().uuidString.utf8)

    /// The routing id of a worker on a thread of this process: prefix, token, then its name for the logs.
    package static func routingID(name: String) -> [UInt8] {
        ownPrefix + Array(name.utf8.prefix(200))
    }

    package static func isThisProcess(_ id: [UInt8]) -> Bool {
        id.starts(with: ownPrefix)
    }

    /// One of this process's routing ids as logs show it: without the token, which stays out of files others may read.
    package static func label(_ id: [UInt8]) -> String {
        String(decoding: routingIDPrefix + id.dropFirst(ownPrefix.count), as: UTF8.self)
    }

    private static let ownPrefix = routingIDPrefix + processToken + Array(":".utf8)
}
