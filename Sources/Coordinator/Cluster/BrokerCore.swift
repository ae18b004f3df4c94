import Foundation
import Engine
import Pipeline
import UQCITProtocol

/// The broker's decisions without its socket: worker sessions and credits, leases and their deadlines, result
/// checks and quarantine, streamed files. The poll loop hands it what peers send (`receive`), connection events
/// (`note`) and the passing of time (`tick`); it answers through a `PeerOutbox`. So all of it runs in tests with
/// a fake outbox and a fake clock, the way a protocol handler is tested on an embedded channel.
final class BrokerCore {
    let scheduler: JobScheduler
    let options: ClusterOptions
    let wire: JobWire
    let journal: Journal?
    let log: ClusterLog
    let outbox: PeerOutbox

    var workers: [[UInt8]: WorkerSession] = [:]
    /// Join order: tasks go round-robin in this order.
    var order: [[UInt8]] = []
    var leases: LeaseTable
    /// Deaths, requeues and backups, for the simulation's report.
    var counters = BrokerCounters()
    /// With backup tasks: when each running task's first lease was granted, and the seconds per parameter its
    /// kind has taken so far (see BrokerCore+Backups.swift).
    var leaseStarts: [String: Date] = [:]
    var secondsPerParameter: [TaskKind: Double] = [:]
    var addresses = PeerAddresses()
    var complaints = ComplaintLimiter()
    var streamed = (files: 0, bytes: 0, chunksSent: 0)
    /// Staged outputs whose SHA-256 the coordinator recomputed before believing a result, and how many it believed
    /// as this process's own workers hashed them while writing.
    var digestChecks = (files: 0, bytes: 0, seconds: 0.0, believed: 0)
    /// Workers quarantined for invalid results, by routing id and by name: a new Hello does not clear them.
    var quarantinedPeers: Set<[UInt8]> = []
    var quarantinedNames: Set<String> = []
    /// When the event being handled happened: the loop's clock, or a test's.
    private(set) var now: Date
    private(set) var nextHeartbeat: Date
    var lastWaitingNotice: Date

    init(scheduler: JobScheduler, options: ClusterOptions, wire: JobWire, journal: Journal?, log: ClusterLog,
         outbox: PeerOutbox, now: Date) {
        self.scheduler = scheduler; self.options = options; self.wire = wire; self.journal = journal; self.log = log
        self.outbox = outbox; self.now = now
        leases = LeaseTable(backups: options.backupTasks)
        nextHeartbeat = now.addingTimeInterval(options.heartbeat.interval)
        lastWaitingNotice = now
    }

    var heartbeat: HeartbeatSettings { options.heartbeat }

    /// A connection event from the socket monitor, remembered so that log lines name the peer's address.
    func note(_ event: ZMQSocketEvent) {
        if let line = addresses.note(event) { log(line) }
    }

    /// One message from `id`: the frames after its routing id.
    func receive(from id: [UInt8], frames: [[UInt8]], now: Date) throws {
        self.now = now
        guard !id.isEmpty else { return }
        workers[id]?.lastHeard = now
        guard frames.count == 1 else {
            complain(id, "\(label(id)): a message of \(frames.count) frames where one envelope was expected; ignored")
            _ = send(id, Messages.reject(wire.jobID, "one envelope per message expected"))
            return
        }
        let envelope: Uqcit_V2_Envelope
        do { envelope = try EnvelopeCodec.decode(frames[0]) } catch {
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

    /// The passing of time: heartbeats when due, silent workers and overdue leases, then tasks for free credits.
    /// `backlog`: messages still wait in the socket (the loop stalled, on a slow fsync say), so peers may have
    /// spoken that the core has not heard yet: no one is declared silent until they are read.
    func tick(now: Date, backlog: Bool = false) throws {
        self.now = now
        // Group commit: the results journaled since the last tick reach the disk before anything acts on them.
        try journal?.syncDeferred()
        if now >= nextHeartbeat {
            try heartbeatAll()
            nextHeartbeat = now.addingTimeInterval(heartbeat.interval)
        }
        if !backlog { try expireSilentWorkers() }
        try expireLeases()
        try dispatch()
        noticeIfWaiting()
    }

    /// The job is done: logs what crossed the network and what was checked, and sends the workers home.
    func finish() {
        if options.storage == .stream {
            log(String(format: "stream mode: received %d files (%.1f MB) from workers, sent %d chunks to them",
                       streamed.files, Double(streamed.bytes) / 1e6,
                       streamed.chunksSent + workers.values.reduce(0) { $0 + $1.outbox.chunksSent }))
        }
        if options.stagedOutputs == .verified {
            log(String(format: "checked the SHA-256 of %d staged file(s) (%.1f MB) in %.3f s before journaling their results; "
                       + "believed the digests of %d written by this process's embedded workers (checked at assembly, or copied into the package from their memory)",
                       digestChecks.files, Double(digestChecks.bytes) / 1e6, digestChecks.seconds, digestChecks.believed))
        }
        shutdownWorkers("job finished")
    }

    func label(_ id: [UInt8]) -> String {
        if let w = workers[id] { return "worker \(w.name) (\(w.address))" }
        return "peer \(PeerAddresses.label(id)) (\(addresses.address(of: id)))"
    }

    /// A log line about a peer's misbehaviour, rate-limited per peer.
    func complain(_ id: [UInt8], _ line: String) {
        if let line = complaints.admit(line, about: id, at: now) { log(line) }
    }

    func send(_ id: [UInt8], _ bytes: [UInt8]) -> Bool { outbox.send(id, bytes) }
}
