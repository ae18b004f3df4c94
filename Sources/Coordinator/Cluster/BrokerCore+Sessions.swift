import Foundation
import Pipeline
import UQCITProtocol

/// Sessions: who is welcomed, who is alive, who leaves, and what their leases become.
extension BrokerCore {
    func welcome(_ id: [UInt8], _ hello: Uqcit_V2_Hello) throws {
        if workers[id] != nil {
            log("\(label(id)) said Hello again; its session restarts")
            try drop(id, reason: nil)
        }
        let address = addresses.address(of: id)
        let name = hello.workerName.isEmpty ? PeerAddresses.label(id) : LogText.escaped(hello.workerName)
        guard !quarantinedPeers.contains(id) && !quarantinedNames.contains(name) else {
            complain(id, "worker \(name) (\(address)) is quarantined for invalid results; its Hello is rejected")
            _ = send(id, Messages.reject(wire.jobID, "this worker is quarantined: it sent invalid results"))
            return
        }
        let mode = options.storage.rawValue
        guard hello.storageMode.isEmpty || hello.storageMode == mode else {
            complain(id, "worker \(name) (\(address)) asks for storage mode '\(LogText.escaped(hello.storageMode))'; rejected")
            _ = send(id, Messages.reject(wire.jobID, "this job uses storage mode '\(mode)', not '\(LogText.escaped(hello.storageMode))'"))
            return
        }
        guard hello.threads > 0 else {
            complain(id, "worker \(name) (\(address)) offers 0 threads; rejected")
            _ = send(id, Messages.reject(wire.jobID, "a worker needs at least one thread"))
            return
        }
        var w = Uqcit_V2_Welcome()
        w.coordinatorName = wire.coordinatorName
        w.heartbeatIntervalMs = UInt32(heartbeat.intervalMs)
        w.heartbeatLiveness = UInt32(heartbeat.liveness)
        w.storageMode = mode
        // Stream mode: the worker keeps its own staging folder; the coordinator's is none of its business.
        w.stagingDir = options.storage == .shared ? wire.stagingDir : ""
        w.sourceDir = wire.sourceDir
        guard send(id, Messages.envelope(wire.jobID, .welcome(w))) else {
            log("worker \(name) (\(address)) vanished before its Welcome")
            return
        }
        let threads = Int(hello.threads)
        // Each leased task writes at most one file and an honest worker streams one file after another, so a
        // worker never needs more half-sent files than threads.
        workers[id] = WorkerSession(name: name, address: address, threads: threads, lastHeard: now,
                                    inbox: StreamInbox(root: wire.stagingDir, maxOpenFiles: threads))
        order.append(id)
        try journal?.append(.worker(name: name, peer: address, threads: threads))
        if address != "inproc" { log("worker \(name) joined from \(address) with \(hello.threads) thread(s)") }
    }

    /// Removes a worker; its leases go back to the queue (a task out of attempts stops the job) and the files it
    /// was still sending are deleted.
    func drop(_ id: [UInt8], reason: String?) throws {
        guard var w = workers.removeValue(forKey: id) else { return }
        order.removeAll { $0 == id }
        w.inbox.discardAll()
        streamed.chunksSent += w.outbox.chunksSent
        let tasks = w.leases.sorted()
        if let reason { log("worker \(w.name) (\(w.address)) \(reason)" + (tasks.isEmpty ? "" : "; requeueing \(tasks.joined(separator: ", "))")) }
        // A task whose backup (or primary) lease runs on elsewhere stays with that worker.
        for t in tasks where leases.remove(t, worker: id) {
            counters.tasksRequeued += 1
            try scheduler.requeue(t)
        }
    }

    func heartbeatAll() throws {
        for id in order where !send(id, Messages.heartbeat(wire.jobID)) {
            try drop(id, reason: "is unreachable (its connection closed): declared dead")
        }
    }

    func expireSilentWorkers() throws {
        for id in order {
            guard let w = workers[id], now.timeIntervalSince(w.lastHeard) > heartbeat.silence else { continue }
            counters.silenceDeath(at: now)
            try drop(id, reason: String(format: "silent for %.1f s (%d heartbeats missed): declared dead", now.timeIntervalSince(w.lastHeard), heartbeat.liveness))
        }
    }

    func noticeIfWaiting() {
        guard workers.isEmpty, now.timeIntervalSince(lastWaitingNotice) > 10 else { return }
        lastWaitingNotice = now
        log("waiting for workers: \(scheduler.readyCount) task(s) ready, none connected")
    }

    func shutdownWorkers(_ reason: String) {
        for id in order { _ = send(id, Messages.shutdown(wire.jobID, reason)) }
        workers.removeAll()
        order.removeAll()
    }
}
