import Foundation
import Engine
import Pipeline

/// Backup tasks (MapReduce's): once nothing is ready, idle workers get a second lease of a running task that is
/// overdue, so a straggler no longer sets the job's end. Only overdue ones: backups handed out whenever the queue
/// is momentarily empty go to whoever is idle at the time, and a task's one backup is spent long before its
/// worker turns out to be slow (measured: the job then still waits for the straggler).
extension BrokerCore {
    /// Overdue: running for more than this many times what its parameters took tasks of its kind so far.
    static let overdueFactor = 3.0

    func dispatchBackups() throws {
        for id in order {
            guard let w = workers[id], !w.quarantined, w.credits > 0 else { continue }
            guard let taskID = leases.backupCandidate(notOn: id, overdue: isOverdue), let task = scheduler.runningTask(taskID),
                  let attempt = scheduler.backupAttempt(taskID) else { return }
            leases.grantBackup(taskID, to: id, attempt: attempt, deadline: now.addingTimeInterval(options.leaseDeadlines.seconds(for: task)))
            counters.backupLeases += 1
            try hand(task, attempt: attempt, to: id)
        }
    }

    func isOverdue(_ taskID: String) -> Bool {
        guard let started = leaseStarts[taskID], let task = scheduler.runningTask(taskID),
              let rate = secondsPerParameter[task.kind] else { return false }
        return now.timeIntervalSince(started) > Self.overdueFactor * rate * Double(max(1, LeaseDeadlines.parameters(of: task)))
    }

    /// A task's first valid result: how long it took from its first lease, per parameter, moves its kind's
    /// running average.
    func noteFinished(_ task: TaskSpec) {
        guard let started = leaseStarts.removeValue(forKey: task.id) else { return }
        let rate = now.timeIntervalSince(started) / Double(max(1, LeaseDeadlines.parameters(of: task)))
        secondsPerParameter[task.kind] = secondsPerParameter[task.kind].map { 0.95 * $0 + 0.05 * rate } ?? rate
    }
}
