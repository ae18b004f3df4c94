import Foundation

/// What the broker thread tells the thread that called `Broker.run`, and the one thing it is told back (stop).
final class BrokerMailbox: @unchecked Sendable {
    enum Event {
        case folder(String, TaskResults)
        /// Terminal: exactly one of these ends the stream.
        case finished, failed(Error), stopped
    }

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var events: [Event] = []
    private var latestProgress = JobProgress()
    private var stopReason: Error?

    func post(_ e: Event) {
        condition.withLock { events.append(e); condition.broadcast() }
    }

    func publish(_ p: JobProgress) {
        condition.withLock { latestProgress = p }
    }

    /// Events since the last call (waiting up to `timeout` for one) and the latest progress.
    func take(timeout: TimeInterval) -> ([Event], JobProgress) {
        condition.withLock {
            if events.isEmpty { _ = condition.wait(until: Date().addingTimeInterval(timeout)) }
            defer { events.removeAll() }
            return (events, latestProgress)
        }
    }

    func requestStop(_ reason: Error) {
        condition.withLock { if stopReason == nil { stopReason = reason } }
    }

    var stopRequested: Error? { condition.withLock { stopReason } }
}
