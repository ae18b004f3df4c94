import Foundation
import Engine
import Pipeline
import UQCITProtocol

/// Results and failures: nothing a worker reports is journaled or applied before it is checked.
extension BrokerCore {
    func complete(_ id: [UInt8], _ r: Uqcit_V2_TaskResult) throws {
        guard let task = scheduler.runningTask(r.taskID), leases.holds(r.taskID, worker: id, attempt: Int(r.attempt)) else {
            _ = takeLease(id, task: r.taskID, attempt: r.attempt, kind: "result", finish: true)
            return
        }
        // Checked against the leased task, and its files against the staging folder (streamed ones crossed the
        // network; shared ones a worker wrote). A worker on a thread of this process hashed its tiles as it wrote
        // them, in this process: reading them back would only check the page cache, so those digests are believed
        // here, and the assembler's check before packaging (and resume's) is their check on disk. Other tasks' files
        // (activations and H, which later tasks read unchecked; low-rank factors) are checked here whoever wrote them.
        let outcome: TaskOutcome
        do {
            outcome = try TaskOutcome(wire: r)
            try ResultValidator.check(outcome, against: task)
            if options.stagedOutputs == .verified {
                if task.kind == .quantize && EmbeddedPeers.isThisProcess(id) {
                    digestChecks.believed += outcome.outputs.count
                } else {
                    let started = Date()
                    digestChecks.bytes += try ResultValidator.verifyStaged(outcome.outputs, root: wire.stagingDir)
                    digestChecks.files += outcome.outputs.count
                    digestChecks.seconds += Date().timeIntervalSince(started)
                }
            }
        } catch {
            refuse(id, task: r.taskID, attempt: r.attempt, reason: "\(error)")
            return
        }
        _ = takeLease(id, task: r.taskID, attempt: r.attempt, kind: "result", finish: true)
        if options.backupTasks { noteFinished(task) }
        try journal?.append(.done(task: r.taskID, attempt: Int(r.attempt), worker: workers[id]!.name, outcome: outcome), deferringSync: true)
        try scheduler.complete(outcome)
    }

    /// A result that failed validation: logged with its reason and the peer, counted against the worker, and the
    /// task requeued; repeated offences quarantine the worker (it stays connected but gets no more tasks).
    func refuse(_ id: [UInt8], task: String, attempt: UInt32, reason: String) {
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

    func failed(_ id: [UInt8], _ f: Uqcit_V2_TaskFailed) throws {
        guard let others = takeLease(id, task: f.taskID, attempt: f.attempt, kind: "failure", finish: false) else { return }
        log("task \(f.taskID) attempt \(f.attempt) failed on \(label(id)): \(LogText.escaped(f.reason))")
        guard others.isEmpty else { return }
        try scheduler.fail(f.taskID, reason: LogText.escaped(f.reason) + " (on worker \(workers[id]!.name))", retryable: f.retryable)
    }
}
