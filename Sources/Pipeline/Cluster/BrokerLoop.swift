import Foundation
import Engine
import UQCITProtocol

/// A worker the broker has welcomed.
struct WorkerSession {
    let name: String
    let address: String
    let threads: Int
    var credits = 0
    var leases: Set<String> = []
    var lastHeard: Date
    /// Results refused by `ResultValidator`; at `ClusterOptions.maxInvalidResults` the worker is quarantined.
    var invalidResults = 0
    var quarantined = false
    /// Everything sent to the worker goes through here, so task inputs streamed to it precede their assignment.
    var outbox = StreamOutbox()
    var inbox: StreamInbox
}

/// The broker's poll loop, on its own thread: it alone owns the ROUTER socket, its monitor and the scheduler.
final class BrokerLoop {
    let router: ZMQSocket
    let monitor: ZMQMonitor
    let options: ClusterOptions
    let wire: JobWire
    let journal: Journal?
    let log: ClusterLog

    private var scheduler: JobScheduler!
    private var workers: [[UInt8]: WorkerSession] = [:]
    private var order: [[UInt8]] = []                       // join order: tasks go round-robin in this order
    private lazy var leases = LeaseTable(backups: options.backupTasks)
    private var addresses = PeerAddresses()
    private var lastWaitingNotice = Date.distantPast
    private var complaints = ComplaintLimiter()
    private var streamed = (files: 0, bytes: 0, chunksSent: 0)
    /// Staged outputs whose SHA-256 the coordinator recomputed before believing a result.
    private var digestChecks = (files: 0, bytes: 0, seconds: 0.0)
    /// Workers quarantined for invalid results, by routing id and by name: a new Hello does not clear them.
    private var quarantinedPeers: Set<[UInt8]> = []
    private var quarantinedNames: Set<String> = []
    private(set) var counters = BrokerCounters()

    init(router: ZMQSocket, monitor: ZMQMonitor, options: ClusterOptions, wire: JobWire, journal: Journal?, log: ClusterLog) {
        self.router = router; self.monitor = monitor; self.options = options; self.wire = wire; self.journal = journal; self.log = log
    }

    private var heartbeat: HeartbeatSettings { options.heartbeat }

    func serve(_ scheduler: JobScheduler, mailbox: BrokerMailbox, zap: ZAPHandler?) {
        self.scheduler = scheduler
        lastWaitingNotice = Date()
        defer { monitor.close(); router.close() }
        do {
            let poller = ZMQPoller([router, monitor.socket])
            var nextHeartbeat = Date().addingTimeInterval(heartbeat.interval)
            while true {
                publish(mailbox)
                if let reason = mailbox.stopRequested {
                    shutdownWorkers("job stopped: \(reason)")
                    mailbox.post(.stopped)
                    return
                }
                if scheduler.isFinished {
                    if options.storage == .stream {
                        log(String(format: "stream mode: received %d files (%.1f MB) from workers, sent %d chunks to them",
                                   streamed.files, Double(streamed.bytes) / 1e6,
                                   streamed.chunksSent + workers.values.reduce(0) { $0 + $1.outbox.chunksSent }))
                    }
                    if options.stagedOutputs == .verified {
                        log(String(format: "checked the SHA-256 of %d staged file(s) (%.1f MB) in %.3f s before journaling their results",
                                   digestChecks.files, Double(digestChecks.bytes) / 1e6, digestChecks.seconds))
                    }
                    shutdownWorkers("job finished")
                    mailbox.post(.finished)
                    return
                }
                let wait = min(heartbeat.interval, max(0, nextHeartbeat.timeIntervalSinceNow))
                _ = try poller.readable(timeoutMs: Int32(wait * 1000))
                drainMonitor()
                for denial in zap?.takeDenials() ?? [] { log("refused \(denial): not in the allowed worker keys") }
                let drained = try drainRouter()
                // Group commit: the results just journaled reach the disk before anything acts on them.
                try journal?.syncDeferred()
                if Date() >= nextHeartbeat {
                    try heartbeatAll()
                    nextHeartbeat = Date().addingTimeInterval(heartbeat.interval)
                }
                // After a stall of this thread (a slow fsync), peers' heartbeats wait unread in the queue: only an
                // empty queue says who is silent.
                if drained { try expireSilentWorkers() }
                try expireLeases()
                try dispatch()
                noticeIfWaiting()
            }
        } catch {
            shutdownWorkers("job failed: \(error)")
            mailbox.post(.failed(error))
        }
    }

    private func publish(_ mailbox: BrokerMailbox) {
        for f in scheduler.takeReadyFolders() {
            mailbox.post(.folder(f, scheduler.results))
            scheduler.forgetResults(ofFolder: f)
        }
        var p = scheduler.progress
        p.workersAlive = workers.count
        mailbox.publish(p)
    }

    private func drainMonitor() {
        while let event = try? monitor.nextEvent(timeoutMs: 0) {
            if let line = addresses.note(event) { log(line) }
        }
    }

    /// Handles what the router holds, up to 1024 messages a turn; true when it emptied the queue.
    private func drainRouter() throws -> Bool {
        for _ in 0..<1024 {
            guard let frames = try router.receive(timeoutMs: 0) else { return true }
            try handle(frames)
        }
        return false
    }

    private func label(_ id: [UInt8]) -> String {
        if let w = workers[id] { return "worker \(w.name) (\(w.address))" }
        return "peer \(PeerAddresses.label(id)) (\(addresses.address(of: id)))"
    }

    /// A log line about a peer's misbehaviour, rate-limited per peer.
    private func complain(_ id: [UInt8], _ line: String) {
        if let line = complaints.admit(line, about: id) { log(line) }
    }

    private func send(_ id: [UInt8], _ bytes: [UInt8]) -> Bool {
        do { return try router.send(frames: [id, bytes], dontWait: true) } catch { return false }
    }

    private func handle(_ frames: [[UInt8]]) throws {
        guard let id = frames.first, !id.isEmpty else { return }
        workers[id]?.lastHeard = Date()
        guard frames.count == 2 else {
            complain(id, "\(label(id)): a message of \(frames.count - 1) frames where one envelope was expected; ignored")
            _ = send(id, Messages.reject(wire.jobID, "one envelope per message expected"))
            return
        }
        let envelope: Uqcit_V2_Envelope
        do { envelope = try EnvelopeCodec.decode(frames[1]) } catch {
            complain(id, "\(label(id)): \(error); ignored")
            _ = send(id, Messages.reject(wire.jobID, error.description))
            return
        }
        if case .hello(let hello) = envelope.body {
            try welcome(id, hello)
            return
        }
        guard workers[id] != nil else {
            complain(id, "\(label(id)) sent \(Messages.name(envelope.body)) without Hello; rejected")
            _ = send(id, Messages.reject(wire.jobID, "unknown worker: send Hello (this coordinator restarted or declared you dead)"))
            return
        }
        guard envelope.jobID == wire.jobID else {
            complain(id, "\(label(id)) sent \(Messages.name(envelope.body)) for job '\(LogText.escaped(envelope.jobID))', this is job '\(wire.jobID)'; rejected")
            _ = send(id, Messages.reject(wire.jobID, "this coordinator runs job \(wire.jobID), not \(LogText.escaped(envelope.jobID))"))
            try drop(id, reason: nil)
            return
        }
        switch envelope.body {
        case .ready(let r):
            // Never more tasks in flight than the threads the worker advertised, whatever credits it claims.
            let w = workers[id]!
            workers[id]!.credits = min(w.credits + Int(r.credits), max(0, w.threads - w.leases.count))
        case .heartbeat: break
        case .taskResult(let r): try complete(id, r)
        case .taskFailed(let f): try failed(id, f)
        case .chunk(let c): receiveChunk(id, c)
        case .chunkAck(let a):
            workers[id]!.outbox.grant(Int(a.credits))
            try pump(id)
        case .shutdown(let s):
            log("\(label(id)) leaves: \(LogText.escaped(s.reason))")
            try drop(id, reason: nil)
        default:
            complain(id, "\(label(id)) sent an unexpected \(Messages.name(envelope.body)); ignored")
        }
    }

    private func welcome(_ id: [UInt8], _ hello: Uqcit_V2_Hello) throws {
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
        workers[id] = WorkerSession(name: name, address: address, threads: Int(hello.threads), lastHeard: Date(),
                                    inbox: StreamInbox(root: wire.stagingDir))
        order.append(id)
        try journal?.append(.worker(name: name, peer: address, threads: Int(hello.threads)))
        if address != "inproc" { log("worker \(name) joined from \(address) with \(hello.threads) thread(s)") }
    }

    /// Removes a worker; its leases go back to the queue (a task out of attempts stops the job).
    private func drop(_ id: [UInt8], reason: String?) throws {
        guard let w = workers.removeValue(forKey: id) else { return }
        order.removeAll { $0 == id }
        streamed.chunksSent += w.outbox.chunksSent
        let tasks = w.leases.sorted()
        if let reason { log("worker \(w.name) (\(w.address)) \(reason)" + (tasks.isEmpty ? "" : "; requeueing \(tasks.joined(separator: ", "))")) }
        for t in tasks where leases.remove(t, worker: id) {
            counters.tasksRequeued += 1
            try scheduler.requeue(t)
        }
    }

    /// The holder's lease ends: a result ends the task's other leases too (`finish`), a failure only its own.
    /// Nil when the report is not the holder's; otherwise the task's leases still running.
    private func takeLease(_ id: [UInt8], task: String, attempt: UInt32, kind: String, finish: Bool) -> [LeaseTable.Lease]? {
        let report = finish ? leases.finish(task, worker: id, attempt: Int(attempt)) : leases.release(task, worker: id, attempt: Int(attempt))
        switch report {
        case .held(let others):
            workers[id]!.leases.remove(task)
            if finish {
                for o in others { workers[o.worker]?.leases.remove(task) }
                if !others.isEmpty { counters.backupWins += others[0].attempt < Int(attempt) ? 1 : 0 }
            }
            return finish ? [] : others
        case .superseded:
            counters.backupResultsIgnored += 1
            return nil
        case .notHeld:
            complain(id, "ignoring a late or duplicate \(kind) for task \(LogText.escaped(task)) attempt \(attempt) from \(label(id))")
            return nil
        }
    }

    private func complete(_ id: [UInt8], _ r: Uqcit_V2_TaskResult) throws {
        guard let task = scheduler.runningTask(r.taskID), leases.holds(r.taskID, worker: id, attempt: Int(r.attempt)) else {
            _ = takeLease(id, task: r.taskID, attempt: r.attempt, kind: "result", finish: true)
            return
        }
        // Nothing a worker says is journaled or applied before it is checked against the leased task, and its
        // files against the staging folder (streamed ones crossed the network; shared ones a worker wrote).
        let outcome: TaskOutcome
        do {
            outcome = try TaskOutcome(wire: r)
            try ResultValidator.check(outcome, against: task)
            if options.stagedOutputs == .verified {
                let started = Date()
                digestChecks.bytes += try ResultValidator.verifyStaged(outcome.outputs, root: wire.stagingDir)
                digestChecks.files += outcome.outputs.count
                digestChecks.seconds += Date().timeIntervalSince(started)
            }
        } catch {
            refuse(id, task: r.taskID, attempt: r.attempt, reason: "\(error)")
            return
        }
        _ = takeLease(id, task: r.taskID, attempt: r.attempt, kind: "result", finish: true)
        try journal?.append(.done(task: r.taskID, attempt: Int(r.attempt), worker: workers[id]!.name, outcome: outcome), deferringSync: true)
        try scheduler.complete(outcome)
    }

    /// A result that failed validation: logged with its reason and the peer, counted against the worker, and the
    /// task requeued; repeated offences quarantine the worker (it stays connected but gets no more tasks).
    private func refuse(_ id: [UInt8], task: String, attempt: UInt32, reason: String) {
        guard let others = takeLease(id, task: task, attempt: attempt, kind: "result", finish: false), var w = workers[id] else { return }
        w.invalidResults += 1
        complain(id, "refused the result of task \(task) attempt \(attempt) from \(label(id)): \(reason); "
                 + (others.isEmpty ? "task requeued" : "its other lease runs on") + " (\(w.invalidResults) invalid result(s) from this worker)")
        if others.isEmpty { scheduler.putBack(task) }
        if w.invalidResults >= options.maxInvalidResults && !w.quarantined {
            w.quarantined = true
            quarantinedPeers.insert(id)
            quarantinedNames.insert(w.name)
            log("worker \(w.name) (\(w.address)) quarantined after \(w.invalidResults) invalid results: it gets no more tasks")
        }
        workers[id] = w
    }

    private func failed(_ id: [UInt8], _ f: Uqcit_V2_TaskFailed) throws {
        guard let others = takeLease(id, task: f.taskID, attempt: f.attempt, kind: "failure", finish: false) else { return }
        log("task \(f.taskID) attempt \(f.attempt) failed on \(label(id)): \(LogText.escaped(f.reason))")
        guard others.isEmpty else { return }
        try scheduler.fail(f.taskID, reason: LogText.escaped(f.reason) + " (on worker \(workers[id]!.name))", retryable: f.retryable)
    }

    private func dispatch() throws {
        for id in order {
            while let w = workers[id], !w.quarantined, w.credits > 0, let (task, attempt) = scheduler.next() {
                leases.grant(task.id, to: id, attempt: attempt, deadline: Date().addingTimeInterval(options.leaseDeadlines.seconds(for: task)))
                try send(task, attempt: attempt, to: id)
            }
        }
        if options.backupTasks && scheduler.readyCount == 0 { try dispatchBackups() }
    }

    /// Nothing is ready and workers have free credits: each gets a backup lease of the oldest task still running
    /// elsewhere. Stops at the first worker for which there is none (all are backed up or on that worker).
    private func dispatchBackups() throws {
        for id in order {
            guard let w = workers[id], !w.quarantined, w.credits > 0 else { continue }
            guard let taskID = leases.backupCandidate(notOn: id), let task = scheduler.runningTask(taskID),
                  let attempt = scheduler.backupAttempt(taskID) else { return }
            leases.grantBackup(taskID, to: id, attempt: attempt, deadline: Date().addingTimeInterval(options.leaseDeadlines.seconds(for: task)))
            counters.backupLeases += 1
            try send(task, attempt: attempt, to: id)
        }
    }

    private func send(_ task: TaskSpec, attempt: Int, to id: [UInt8]) throws {
        workers[id]!.leases.insert(task.id)
        workers[id]!.credits -= 1
        if options.storage == .stream && task.kind == .compensate {
            // The low-rank step reads the tensor's tiles: they travel down to the worker first.
            for k in 0..<scheduler.plan.tileCount(task.tensorIndex) {
                let name = StagingNames.tile(task.tensorIndex, k)
                workers[id]!.outbox.enqueue(.file(taskID: task.id, attempt: UInt32(attempt), name: name,
                                                  path: wire.stagingDir + "/" + name, removeAfter: false))
            }
        }
        workers[id]!.outbox.enqueue(.message(Messages.assignment(wire.jobID, task, attempt: attempt)))
        try journal?.append(.lease(task: task.id, attempt: attempt, worker: workers[id]!.name))
        try pump(id)
    }

    private func pump(_ id: [UInt8]) throws {
        guard workers[id] != nil else { return }
        try workers[id]!.outbox.pump(jobID: wire.jobID) { send(id, $0) }
    }

    /// A piece of a task's output (stream mode); acknowledged whatever happens, so the worker's window moves on.
    private func receiveChunk(_ id: [UInt8], _ c: Uqcit_V2_Chunk) {
        var ack = Uqcit_V2_ChunkAck()
        ack.taskID = c.taskID; ack.credits = 1
        defer { _ = send(id, Messages.envelope(wire.jobID, .chunkAck(ack))) }
        guard leases.holds(c.taskID, worker: id, attempt: Int(c.attempt)) else {
            complain(id, "ignoring a chunk of \(LogText.escaped(c.fileName)) for task \(LogText.escaped(c.taskID)) attempt \(c.attempt) from \(label(id)): no such lease")
            return
        }
        // A lease lets a worker write only the files its task produces, nothing else in the staging folder.
        guard let task = scheduler.runningTask(c.taskID), ResultValidator.expectedOutputs(task)[c.fileName] != nil else {
            complain(id, "\(label(id)): a chunk of '\(LogText.escaped(c.fileName))', which task \(c.taskID) does not write; ignored")
            return
        }
        do {
            try workers[id]!.inbox.receive(c)
            streamed.bytes += c.data.count
            if c.last { streamed.files += 1 }
        } catch {
            complain(id, "\(label(id)): bad chunk for task \(c.taskID): \(error)")
        }
    }

    private func heartbeatAll() throws {
        for id in order where !send(id, Messages.heartbeat(wire.jobID)) {
            try drop(id, reason: "is unreachable (its connection closed): declared dead")
        }
    }

    private func expireSilentWorkers() throws {
        let now = Date()
        for id in order {
            guard let w = workers[id], now.timeIntervalSince(w.lastHeard) > heartbeat.silence else { continue }
            counters.silenceDeath(at: now)
            try drop(id, reason: String(format: "silent for %.1f s (%d heartbeats missed): declared dead", now.timeIntervalSince(w.lastHeard), heartbeat.liveness))
        }
    }

    /// Leases past their deadline: the task goes back to the queue for another worker (the holder's thread is
    /// presumably stuck, so its credit is not returned), and whatever the holder sends for it later is ignored.
    private func expireLeases() throws {
        for (task, lease, othersRemain) in leases.expire(at: Date()) {
            workers[lease.worker]?.leases.remove(task)
            let who = workers[lease.worker].map { "worker \($0.name) (\($0.address))" } ?? "a departed worker"
            log("lease of task \(task) attempt \(lease.attempt) on \(who) passed its deadline; " + (othersRemain ? "its other lease runs on" : "requeued"))
            guard !othersRemain else { continue }
            counters.tasksRequeued += 1
            try scheduler.requeue(task, reason: "its lease on \(who) passed its deadline")
        }
    }

    private func noticeIfWaiting() {
        guard workers.isEmpty, Date().timeIntervalSince(lastWaitingNotice) > 10 else { return }
        lastWaitingNotice = Date()
        log("waiting for workers: \(scheduler.readyCount) task(s) ready, none connected")
    }

    private func shutdownWorkers(_ reason: String) {
        for id in order { _ = send(id, Messages.shutdown(wire.jobID, reason)) }
        workers.removeAll()
        order.removeAll()
    }
}
