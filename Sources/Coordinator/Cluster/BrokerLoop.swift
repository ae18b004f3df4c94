import Foundation
import Pipeline
import UQCITProtocol

/// The broker's poll loop, on its own thread: it alone owns the ROUTER socket and its monitor. It feeds what
/// arrives to a `BrokerCore`, which owns the scheduler, and publishes progress and finished folders to the mailbox.
final class BrokerLoop {
    let router: ZMQSocket
    let monitor: ZMQMonitor
    let options: ClusterOptions
    let wire: JobWire
    let journal: Journal?
    let log: ClusterLog
    /// What the core counted, once `serve` has returned.
    private(set) var counters = BrokerCounters()

    init(router: ZMQSocket, monitor: ZMQMonitor, options: ClusterOptions, wire: JobWire, journal: Journal?, log: ClusterLog) {
        self.router = router; self.monitor = monitor; self.options = options; self.wire = wire; self.journal = journal; self.log = log
    }

    func serve(_ scheduler: JobScheduler, mailbox: BrokerMailbox, zap: ZAPHandler?) {
        let core = BrokerCore(scheduler: scheduler, options: options, wire: wire, journal: journal, log: log,
                              outbox: RouterOutbox(router: router), now: Date())
        defer { counters = core.counters; monitor.close(); router.close() }
        do {
            let poller = ZMQPoller([router, monitor.socket])
            while true {
                publish(core, mailbox)
                if let reason = mailbox.stopRequested {
                    core.shutdownWorkers("job stopped: \(reason)")
                    mailbox.post(.stopped)
                    return
                }
                if scheduler.isFinished {
                    core.finish()
                    mailbox.post(.finished)
                    return
                }
                let wait = min(options.heartbeat.interval, max(0, core.nextHeartbeat.timeIntervalSinceNow))
                _ = try poller.readable(timeoutMs: Int32(wait * 1000))
                while let event = try? monitor.nextEvent(timeoutMs: 0) { core.note(event) }
                for denial in zap?.takeDenials() ?? [] { log("refused \(denial): not in the allowed worker keys") }
                let drained = try drainRouter(into: core)
                try core.tick(now: Date(), backlog: !drained)
            }
        } catch {
            core.shutdownWorkers("job failed: \(error)")
            mailbox.post(.failed(error))
        }
    }

    private func publish(_ core: BrokerCore, _ mailbox: BrokerMailbox) {
        for f in core.scheduler.takeReadyFolders() {
            mailbox.post(.folder(f, core.scheduler.results))
            core.scheduler.forgetResults(ofFolder: f)
        }
        var p = core.scheduler.progress
        p.workersAlive = core.workers.count
        mailbox.publish(p)
    }

    /// Up to 1024 messages a turn; true when the socket is empty.
    private func drainRouter(into core: BrokerCore) throws -> Bool {
        for _ in 0..<1024 {
            guard let frames = try router.receive(timeoutMs: 0) else { return true }
            guard let id = frames.first else { continue }
            try core.receive(from: id, frames: Array(frames.dropFirst()), now: Date())
        }
        return false
    }
}

/// The ROUTER socket as the broker's outbox: never blocks, and a peer ZeroMQ no longer knows is a failed send.
struct RouterOutbox: PeerOutbox {
    let router: ZMQSocket

    func send(_ peer: [UInt8], _ bytes: [UInt8]) -> Bool {
        do { return try router.send(frames: [peer, bytes], dontWait: true) } catch { return false }
    }
}
