import Foundation
import Engine
import Pipeline

/// Leases: tasks handed out for credits, reports taken against the lease they answer, deadlines.
extension BrokerCore {
    func dispatch() throws {
        for id in order {
            while let w = workers[id], !w.quarantined, w.credits > 0, let (task, attempt) = scheduler.next() {
                leases.grant(task.id, to: id, attempt: attempt, deadline: now.addingTimeInterval(options.leaseDeadlines.seconds(for: task)))
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
                try journal?.append(.lease(task: task.id, attempt: attempt, worker: w.name))
                try pump(id)
            }
        }
    }

    func pump(_ id: [UInt8]) throws {
        guard workers[id] != nil else { return }
        try workers[id]!.outbox.pump(jobID: wire.jobID) { send(id, $0) }
    }

    /// Ends the lease `id` holds on `task` for `attempt`; false, with a complaint, for a report nobody asked for.
    /// Whatever of the task's files had not finished arriving is discarded with it.
    func takeLease(_ id: [UInt8], task: String, attempt: UInt32, kind: String) -> Bool {
        guard leases.take(task, worker: id, attempt: Int(attempt)) else {
            complain(id, "ignoring a late or duplicate \(kind) for task \(LogText.escaped(task)) attempt \(attempt) from \(label(id))")
            return false
        }
        workers[id]!.leases.remove(task)
        workers[id]!.inbox.discard(task: task)
        return true
    }

    /// Leases past their deadline: the task goes back to the queue for another worker (the holder's thread is
    /// presumably stuck, so its credit is not returned), and whatever the holder sends for it later is ignored.
    func expireLeases() throws {
        for (task, lease) in leases.expire(at: now) {
            workers[lease.worker]?.leases.remove(task)
            workers[lease.worker]?.inbox.discard(task: task)
            let who = workers[lease.worker].map { "worker \($0.name) (\($0.address))" } ?? "a departed worker"
            log("lease of task \(task) attempt \(lease.attempt) on \(who) passed its deadline; requeued")
            try scheduler.requeue(task, reason: "its lease on \(who) passed its deadline")
        }
    }
}
