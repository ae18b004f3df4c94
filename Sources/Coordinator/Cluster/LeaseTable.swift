import Foundation
import Engine
import Pipeline

/// How long a worker may hold a task: a floor, plus time in proportion to the parameters the task reads, so a
/// worker that heartbeats but never answers cannot stall the job; past the deadline the task runs elsewhere.
public struct LeaseDeadlines: Sendable, Equatable {
    public var minimumSeconds: Double
    public var secondsPerMParam: Double

    public init(minimumSeconds: Double = 300, secondsPerMParam: Double = 30) {
        self.minimumSeconds = minimumSeconds; self.secondsPerMParam = secondsPerMParam
    }

    /// Refuses values that would make every lease expire at once or never (negative, NaN, infinite).
    public func validated() throws(JobError) -> LeaseDeadlines {
        guard minimumSeconds.isFinite, minimumSeconds > 0, secondsPerMParam.isFinite, secondsPerMParam >= 0 else {
            throw .invalid("lease deadlines need lease_min_seconds > 0 and lease_seconds_per_mparam >= 0, "
                           + "got \(minimumSeconds) and \(secondsPerMParam)")
        }
        return self
    }

    /// The parameters a task reads: its tile's rows for QUANTIZE (and a calibrated tile's H), a layer pass's
    /// block weights and shard activations, the whole tensor otherwise.
    static func parameters(of task: TaskSpec) -> Int {
        if let q = task.quantize {
            let cols = q.tensor.entry.columns
            return q.rowCount * cols + (q.hessian == nil ? 0 : cols * cols)
        }
        if let p = task.layerPass { return p.tensors.reduce(p.tokenCount * p.shape.hiddenSize) { $0 + $1.tensor.entry.elementCount } }
        let tensor = task.analyze?.tensor ?? task.compensate?.tensor ?? task.measure?.tensor
        return tensor?.entry.elementCount ?? 0
    }

    public func seconds(for task: TaskSpec) -> Double {
        max(minimumSeconds, secondsPerMParam * Double(Self.parameters(of: task)) / 1e6)
    }
}

/// The tasks leased to workers: who holds each, on which attempt, until when. Only a holder's report for its
/// attempt counts; anything else is late or forged and is ignored. A running task may also have one backup lease
/// (`ClusterOptions.backupTasks`): the first valid result ends both, and the other holder's report is superseded.
struct LeaseTable {
    struct Lease: Equatable {
        let worker: [UInt8]
        let attempt: Int
        let deadline: Date
    }

    /// What became of a holder's report.
    enum Report: Equatable {
        /// The holder's lease is over; `others` are the leases of the task it ended (a backup or the primary).
        case held(others: [Lease])
        /// Another holder of the task reported first: expected for backups, ignored quietly.
        case superseded
        case notHeld
    }

    /// Whether backup leases are handed out: only then is `grantOrder` kept.
    let backups: Bool
    /// Per task, its primary lease then its backup, if any.
    private var leases: [String: [Lease]] = [:]
    /// Primary leases in the order granted: the oldest still running is the first to get a backup.
    private var grantOrder: [(task: String, attempt: Int)] = []
    private var grantHead = 0
    /// `task#attempt` of leases another holder's result ended.
    private var superseded: Set<String> = []
    /// No lease expires before this (a lower bound, refreshed by `expire`): most turns of the loop skip the scan.
    private var earliestDeadline = Date.distantFuture

    init(backups: Bool = false) { self.backups = backups }

    mutating func grant(_ task: String, to worker: [UInt8], attempt: Int, deadline: Date) {
        leases[task] = [Lease(worker: worker, attempt: attempt, deadline: deadline)]
        if backups { grantOrder.append((task, attempt)) }
        earliestDeadline = min(earliestDeadline, deadline)
    }

    /// A second lease of a running task, on another worker.
    mutating func grantBackup(_ task: String, to worker: [UInt8], attempt: Int, deadline: Date) {
        leases[task, default: []].append(Lease(worker: worker, attempt: attempt, deadline: deadline))
        earliestDeadline = min(earliestDeadline, deadline)
    }

    func holds(_ task: String, worker: [UInt8], attempt: Int) -> Bool {
        leases[task]?.contains { $0.worker == worker && $0.attempt == attempt } ?? false
    }

    /// A result: ends every lease of the task when `worker` holds it on `attempt`.
    mutating func finish(_ task: String, worker: [UInt8], attempt: Int) -> Report {
        guard holds(task, worker: worker, attempt: attempt) else { return wasSuperseded(task, attempt) ? .superseded : .notHeld }
        let others = leases.removeValue(forKey: task)!.filter { !($0.worker == worker && $0.attempt == attempt) }
        for o in others { superseded.insert("\(task)#\(o.attempt)") }
        return .held(others: others)
    }

    /// A failure or a refused result: ends only this holder's lease; `others` are the task's leases still running.
    mutating func release(_ task: String, worker: [UInt8], attempt: Int) -> Report {
        guard holds(task, worker: worker, attempt: attempt) else { return wasSuperseded(task, attempt) ? .superseded : .notHeld }
        let others = leases[task]!.filter { !($0.worker == worker && $0.attempt == attempt) }
        leases[task] = others.isEmpty ? nil : others
        return .held(others: others)
    }

    /// A departed worker's lease of `task`, whatever its attempt; true when no other lease of the task remains.
    mutating func remove(_ task: String, worker: [UInt8]) -> Bool {
        let others = (leases[task] ?? []).filter { $0.worker != worker }
        leases[task] = others.isEmpty ? nil : others
        return others.isEmpty
    }

    private mutating func wasSuperseded(_ task: String, _ attempt: Int) -> Bool {
        superseded.remove("\(task)#\(attempt)") != nil
    }

    /// Removes and returns the leases whose deadline has passed at `now`, in task order, each with whether the
    /// task still has another lease running.
    mutating func expire(at now: Date) -> [(task: String, lease: Lease, othersRemain: Bool)] {
        guard now >= earliestDeadline else { return [] }
        var gone: [(task: String, lease: Lease, othersRemain: Bool)] = []
        earliestDeadline = .distantFuture
        for task in leases.keys.sorted() {
            let (late, live) = (leases[task]!.filter { $0.deadline <= now }, leases[task]!.filter { $0.deadline > now })
            for l in late { gone.append((task, l, !live.isEmpty)) }
            leases[task] = live.isEmpty ? nil : live
            for l in live { earliestDeadline = min(earliestDeadline, l.deadline) }
        }
        return gone
    }

    /// The oldest running task with a single lease, held by a worker other than `worker`, that is `overdue`:
    /// the next backup.
    mutating func backupCandidate(notOn worker: [UInt8], overdue: (String) -> Bool) -> String? {
        var k = grantHead
        while k < grantOrder.count {
            let (task, attempt) = grantOrder[k]
            let held = leases[task] ?? []
            let current = held.first?.attempt == attempt
            if k == grantHead && (!current || held.count > 1) {
                // Finished, requeued or already backed up: never a candidate again.
                grantHead += 1
                if grantHead >= 4096 && grantHead * 2 >= grantOrder.count { grantOrder.removeFirst(grantHead); k -= grantHead; grantHead = 0 }
            } else if current && held.count == 1 && held[0].worker != worker && overdue(task) {
                return task
            }
            k += 1
        }
        return nil
    }
}
