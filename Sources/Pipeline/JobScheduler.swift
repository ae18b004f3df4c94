import Engine

public enum JobError: Error, CustomStringConvertible, Sendable {
    case taskFailed(task: String, tensor: String, attempts: Int, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .taskFailed(t, n, a, r): return "task \(t) (tensor '\(n)') failed after \(a) attempt(s): \(r)"
        case let .invalid(s): return s
        }
    }
}

/// The job's state machine, independent of any transport: which tasks are ready, leased, finished; the
/// dependency order ANALYZE -> QUANTIZE tiles -> COMPENSATE; attempts and requeues; folders ready to assemble.
/// Not thread-safe: its owner serialises calls (the coordinator's broker loop or the local pool's lock).
public final class JobScheduler: @unchecked Sendable {
    public let plan: JobPlan
    public let maxAttempts: Int

    public private(set) var analyses: [Int: AnalysisResult] = [:]
    public private(set) var tileResults: [Int: [Int: TileResult]] = [:]
    public private(set) var compensations: [Int: CompensationResult] = [:]
    public private(set) var outputs: [String: TaskOutputFile] = [:]
    public private(set) var attempts: [String: Int] = [:]
    public private(set) var completedTasks = 0
    private var tensorDone: [Bool]
    private var ready: [TaskSpec] = []
    private var running: [String: TaskSpec] = [:]
    private var folderRemaining: [String: Int] = [:]
    private var foldersReady: [String] = []
    public private(set) var parametersDone = 0

    public init(plan: JobPlan, maxAttempts: Int = 3) {
        self.plan = plan
        self.maxAttempts = maxAttempts
        tensorDone = plan.assignments.map { !$0.isQuantized }
        for (i, a) in plan.assignments.enumerated() {
            if a.isQuantized {
                folderRemaining[a.folder, default: 0] += 1
                ready.append(.analyzeTask(i, plan.analyzeSpec(i)))
            } else {
                folderRemaining[a.folder, default: 0] += 0
            }
        }
        for f in plan.folders where folderRemaining[f] == 0 { foldersReady.append(f) }
    }

    public var isFinished: Bool { tensorDone.allSatisfy { $0 } }
    public var runningCount: Int { running.count }
    public var readyCount: Int { ready.count }
    public var tensorsDone: Int { tensorDone.filter { $0 }.count }

    /// The next task to lease, with its attempt number (1 for a first try).
    public func next() -> (task: TaskSpec, attempt: Int)? {
        guard !ready.isEmpty else { return nil }
        let t = ready.removeFirst()
        running[t.id] = t
        attempts[t.id, default: 0] += 1
        return (t, attempts[t.id]!)
    }

    /// Records a finished task. Returns false for a late or duplicate result, which is ignored.
    @discardableResult
    public func complete(_ o: TaskOutcome) -> Bool {
        guard let t = running.removeValue(forKey: o.taskId) else { return false }
        apply(t, o)
        return true
    }

    /// Applies an outcome known from the journal, for a task never leased in this process (resume).
    public func restore(_ o: TaskOutcome) {
        guard let idx = ready.firstIndex(where: { $0.id == o.taskId }) else { return }
        let t = ready.remove(at: idx)
        apply(t, o)
    }

    private func apply(_ t: TaskSpec, _ o: TaskOutcome) {
        completedTasks += 1
        for f in o.outputs { outputs[f.name] = f }
        let i = t.tensorIndex
        switch t.kind {
        case .analyze:
            let a = o.analysis!
            analyses[i] = a
            for k in 0..<plan.tileCount(i) { ready.append(.quantizeTask(i, tile: k, plan.quantizeSpec(i, tile: k, analysis: a))) }
        case .quantize:
            tileResults[i, default: [:]][t.tile!] = o.tile!
            parametersDone += o.tile!.elements
            if tileResults[i]!.count == plan.tileCount(i) {
                let rank = plan.assignments[i].policy!.compensationRank
                if rank > 0 {
                    ready.append(.compensateTask(i, CompensateSpec(tensor: plan.assignments[i].tensor, rank: rank,
                                                                    tileRows: plan.tileRows[i], layout: plan.layout(i, analysis: analyses[i]!))))
                } else {
                    finishTensor(i)
                }
            }
        case .compensate:
            compensations[i] = o.compensation!
            finishTensor(i)
        }
    }

    private func finishTensor(_ i: Int) {
        tensorDone[i] = true
        let f = plan.assignments[i].folder
        folderRemaining[f]! -= 1
        if folderRemaining[f] == 0 { foldersReady.append(f) }
    }

    /// A task that failed on its worker: requeued while attempts remain and the failure is retryable.
    public func fail(_ taskId: String, reason: String, retryable: Bool) throws(JobError) {
        guard let t = running.removeValue(forKey: taskId) else { return }
        let n = attempts[taskId] ?? 1
        if !retryable || n >= maxAttempts {
            throw .taskFailed(task: taskId, tensor: plan.assignments[t.tensorIndex].tensor.name, attempts: n, reason: reason)
        }
        ready.insert(t, at: 0)
    }

    /// A lease that expired (its worker died): the task goes back to the front of the queue.
    public func requeue(_ taskId: String) throws(JobError) {
        try fail(taskId, reason: "worker lost while running it", retryable: true)
    }

    /// Folders whose tensors are all finished, in the order they finished; each is returned once.
    public func takeReadyFolders() -> [String] {
        defer { foldersReady.removeAll() }
        return foldersReady
    }
}
