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

/// The tasks leased to workers: who holds each, on which attempt, until when. Only the holder's report for
/// the current attempt counts; anything else is late or forged and is ignored.
struct LeaseTable {
    struct Lease: Equatable {
        let worker: [UInt8]
        let attempt: Int
        let deadline: Date
    }

    private var leases: [String: Lease] = [:]

    mutating func grant(_ task: String, to worker: [UInt8], attempt: Int, deadline: Date) {
        leases[task] = Lease(worker: worker, attempt: attempt, deadline: deadline)
    }

    func holds(_ task: String, worker: [UInt8], attempt: Int) -> Bool {
        guard let l = leases[task] else { return false }
        return l.worker == worker && l.attempt == attempt
    }

    /// Ends the lease when `worker` holds it on `attempt`; false (and no change) otherwise.
    mutating func take(_ task: String, worker: [UInt8], attempt: Int) -> Bool {
        guard holds(task, worker: worker, attempt: attempt) else { return false }
        leases[task] = nil
        return true
    }

    mutating func remove(_ task: String) { leases[task] = nil }

    /// Removes and returns the leases whose deadline has passed at `now`, in task order.
    mutating func expire(at now: Date) -> [(task: String, lease: Lease)] {
        let gone = leases.filter { $0.value.deadline <= now }.sorted { $0.key < $1.key }
        for (task, _) in gone { leases[task] = nil }
        return gone.map { ($0.key, $0.value) }
    }
}
