import Foundation

/// Workers on inproc:// name their routing ids with this prefix, so the broker logs them by name and does not
/// look for a network address behind them.
///
/// The prefix alone proves nothing: a remote DEALER may set any routing id. Workers on threads of this process
/// also carry `processToken`, 128 random bits that never leave it, and only an id carrying them counts as this
/// process's own (`isThisProcess`): the one thing the broker grants on that ground is to believe the digests of
/// files those workers hashed as they wrote them (see BrokerCore's results).
package enum EmbeddedPeers {
    package static let routingIDPrefix: [UInt8] = Array("inproc:".utf8)
    package static let processToken: [UInt8] = Array(UUID().uuidString.utf8)

    /// The routing id of a worker on a thread of this process: prefix, token, then its name for the logs.
    package static func routingID(name: String) -> [UInt8] {
        routingIDPrefix + processToken + Array(":".utf8) + Array(name.utf8.prefix(200))
    }

    package static func isThisProcess(_ id: [UInt8]) -> Bool {
        id.starts(with: routingIDPrefix + processToken + Array(":".utf8))
    }

    /// An inproc routing id as logs show it: without the token, which stays out of files others may read.
    package static func label(_ id: [UInt8]) -> String {
        let token = processToken + Array(":".utf8)
        let rest = id.dropFirst(routingIDPrefix.count)
        return String(decoding: routingIDPrefix + (rest.starts(with: token) ? Array(rest.dropFirst(token.count)) : Array(rest)), as: UTF8.self)
    }
}
