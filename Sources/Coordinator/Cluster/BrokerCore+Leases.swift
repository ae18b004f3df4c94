import Foundation
import Engine
import Pipeline

/// Leases: tasks handed out for credits, reports taken against the lease they answer, deadlines.
extension BrokerCore {
    func dispatch() throws {
        for id in order {
            while let w = workers[id], !w.quarantined, w.credits > 0, let (task, attempt) = scheduler.next() {
                leases.grant(task.id, to: id, attempt: attempt, deadline: now.addingTimeInterval(options.leaseDeadlines.seconds(for: task)))
                if options.backupTasks { leaseStarts[task.id] = now }
                try hand(task, attempt: attempt, to: id)
            }
        }
        if options.backupTasks && scheduler.readyCount == 0 { try dispatchBackups() }
    }

    /// Sends a leased task to its worker, with the staged files it reads first in stream mode (a COMPENSATE's
    /// tiles; a layer pass's activations and staged tiles; a calibrated tile's or MEASURE's H shards) unless the
    /// worker holds them already, and journals the lease.
    func hand(_ task: TaskSpec, attempt: Int, to id: [UInt8]) throws {
        workers[id]!.leases.insert(task.id)
        workers[id]!.credits -= 1
        var releases: [String] = []
        if options.storage == .stream {
            for name in workers[id]!.streamedInputs.lease(task.id, reads: TaskInputs.stagedFiles(of: task, plan: scheduler.plan)) {
                workers[id]!.outbox.enqueue(.file(taskID: task.id, attempt: UInt32(attempt), name: name,
                                                  path: wire.stagingDir + "/" + name, removeAfter: false))
            }
            releases = workers[id]!.streamedInputs.takeReleases()
        }
        workers[id]!.outbox.enqueue(.message(Messages.assignment(wire.jobID, task, attempt: attempt, releasing: releases)))
        try journal?.append(.lease(task: task.id, attempt: attempt, worker: workers[id]!.name))
        try pump(id)
    }

    func pump(_ id: [UInt8]) throws {
        guard workers[id] != nil else { return }
        try workers[id]!.outbox.pump(jobID: wire.jobID) { send(id, $0) }
    }

    /// Ends the lease `id` holds on `task` for `attempt`: a result (`finish`) ends the task's other lease too, a
    /// failure only its own. Nil, with a complaint, for a report nobody asked for (quietly for one a backup's
    /// result superseded); otherwise the task's leases still running. Whatever of the task's files had not
    /// finished arriving from the holder is discarded with it.
    func takeLease(_ id: [UInt8], task: String, attempt: UInt32, kind: String, finish: Bool) -> [LeaseTable.Lease]? {
        switch finish ? leases.finish(task, worker: id, attempt: Int(attempt)) : leases.release(task, worker: id, attempt: Int(attempt)) {
        case .held(let others):
            workers[id]!.leases.remove(task)
            workers[id]!.streamedInputs.end(task)
            workers[id]!.inbox.discard(task: task)
            guard finish else { return others }
            for o in others {
                workers[o.worker]?.leases.remove(task)
                workers[o.worker]?.streamedInputs.end(task)
                workers[o.worker]?.inbox.discard(task: task)
                if o.attempt < Int(attempt) { counters.backupWins += 1 }
            }
            return []
        case .superseded:
            counters.backupResultsIgnored += 1
            return nil
        case .notHeld:
            complain(id, "ignoring a late or duplicate \(kind) for task \(LogText.escaped(task)) attempt \(attempt) from \(label(id))")
            return nil
        }
    }

    /// Leases past their deadline: the task goes back to the queue for another worker (the holder's thread is
    /// presumably stuck, so its credit is not returned), and whatever the holder sends for it later is ignored.
    func expireLeases() throws {
        for (task, lease, othersRemain) in leases.expire(at: now) {
            workers[lease.worker]?.leases.remove(task)
            workers[lease.worker]?.streamedInputs.end(task)
            workers[lease.worker]?.inbox.discard(task: task)
            let who = workers[lease.worker].map { "worker \($0.name) (\($0.address))" } ?? "a departed worker"
            log("lease of task \(task) attempt \(lease.attempt) on \(who) passed its deadline; " + (othersRemain ? "its other lease runs on" : "requeued"))
            guard !othersRemain else { continue }
            counters.tasksRequeued += 1
            try scheduler.requeue(task, reason: "its lease on \(who) passed its deadline")
        }
    }
}
