import Foundation

/// Events of a job's run counted by the broker, for the simulation's report (`coordinator simulate`).
public struct BrokerCounters: Sendable {
    /// Workers declared dead after `HeartbeatSettings.silence` without a word, and when the first and last were.
    public var silentWorkersDeclaredDead = 0
    public var firstSilenceDeath: Date?
    public var lastSilenceDeath: Date?
    /// Leases put back in the queue because their worker died or their deadline passed.
    public var tasksRequeued = 0
    /// Speculative second leases of running tasks, the results that won and those ignored as late.
    public var backupLeases = 0
    public var backupWins = 0
    public var backupResultsIgnored = 0

    mutating func silenceDeath(at time: Date) {
        silentWorkersDeclaredDead += 1
        firstSilenceDeath = firstSilenceDeath ?? time
        lastSilenceDeath = time
    }
}
