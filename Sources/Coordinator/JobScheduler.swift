import Engine
import Pipeline

/// What finished tasks produced, per tensor index: all the assembler needs. A value, so the broker thread can
/// hand a snapshot to the assembling thread while it goes on recording results.
public struct TaskResults: Sendable {
    public var analyses: [Int: AnalysisResult] = [:]
    public var tileResults: [Int: [Int: TileResult]] = [:]
    public var compensations: [Int: CompensationResult] = [:]
    /// Each staged file's size and SHA-256 as the journal holds them, by staging name: the assembler checks
    /// a file against these before it reads it.
    public var stagedFiles: [Int: [String: TaskOutputFile]] = [:]
    /// The auto allocation's per-tensor policies, once made: the assembler lays tensors out with these.
    public var overrides: [String: LevelPolicy]?
}

/// Chooses per-tensor policies from every quantized tensor's MEASURE results (keyed by tensor index), for the
/// plan as it stands before the choice. Deterministic: a resumed job calls it again and must get the same.
public typealias BitAllocation = @Sendable (_ measurements: [Int: [CandidateMeasurement]], _ plan: JobPlan) throws -> [String: LevelPolicy]

/// Counters for progress lines, copied out of the scheduler's thread.
public struct JobProgress: Sendable {
    public var tensorsDone = 0
    public var parametersDone = 0
    public var tasksDone = 0
    /// All tasks of the job as far as known: an auto job's COMPENSATE tasks are known only after its allocation.
    public var tasksTotal = 0
    public var workersAlive = 0
}

/// The job's state machine, independent of any transport: which tasks are ready, leased, finished; the
/// dependency order [MEASURE for all, then the allocation ->] ANALYZE -> QUANTIZE tiles -> COMPENSATE; attempts
/// and requeues; folders ready to assemble. A calibrated plan adds, per block b in order: CAPTURE of every shard
/// (after PROPAGATE of that shard through block b - 1) -> the block's QUANTIZE tiles (after their ANALYZE too)
/// -> PROPAGATE of every shard; a block's folder is ready only when its PROPAGATE tasks, which read its staged
/// tiles, are done.
/// Not thread-safe: one thread owns it (the broker's).
public final class JobScheduler: @unchecked Sendable {
    /// The plan; with an auto profile its policies are replaced once, when the allocation is made.
    public private(set) var plan: JobPlan
    public let maxAttempts: Int
    private let allocation: BitAllocation?
    private var measurements: [Int: [CandidateMeasurement]] = [:]
    private let quantizedTensors: Int
    private var tasksTotal: Int

    public private(set) var results = TaskResults()
    public private(set) var attempts: [String: Int] = [:]
    /// Attempts whose result was refused (see `putBack`) or that were backups (see `backupAttempt`): not counted
    /// against `maxAttempts`.
    private var refusedAttempts: [String: Int] = [:]
    public private(set) var completedTasks = 0
    public private(set) var parametersDone = 0
    private var tensorDone: [Bool]
    /// Counted as they finish: progress is read on every turn of the broker loop, a scan of 90,000 tensors is not.
    public private(set) var tensorsDone = 0
    // Ready tasks: requeued ones first (a stack), then the tiles and compensations of tensors already analysed,
    // then the first tasks of the rest (ANALYZE or MEASURE). Finishing started tensors first keeps the analyses
    // held in memory, and the folders waiting for assembly, to the tasks in flight rather than the whole model.
    // `pending` holds the specs of ready tasks; an id in a queue but not in `pending` was restored from the
    // journal and is skipped.
    private var requeued: [String] = []
    private var followUps = TaskQueue()
    private var queue = TaskQueue()
    private var pending: [String: TaskSpec] = [:]
    private var running: [String: TaskSpec] = [:]
    private var folderRemaining: [String: Int] = [:]
    private var foldersReady: [String] = []
    private var layerPipeline: LayerPipeline?

    /// `allocation` is required when the plan still needs one (an auto profile).
    public init(plan: JobPlan, maxAttempts: Int = 3, allocation: BitAllocation? = nil) throws(JobError) {
        guard !plan.needsAllocation || allocation != nil else {
            throw .invalid("profile \(plan.profile.name) allocates bits to a budget: give it a target (--target-bpw)")
        }
        self.plan = plan
        self.maxAttempts = maxAttempts
        self.allocation = allocation
        quantizedTensors = plan.assignments.filter(\.isQuantized).count
        tasksTotal = plan.taskCount
        tensorDone = plan.assignments.map { !$0.isQuantized }
        tensorsDone = tensorDone.filter { $0 }.count
        for f in plan.folders { folderRemaining[f] = 0 }
        for (i, a) in plan.assignments.enumerated() where a.isQuantized {
            folderRemaining[a.folder, default: 0] += 1
            // A calibrated auto job measures a block's linears once the block's H are in (LayerPipeline); a tensor
            // with a fixed type outside the blocks is analysed at once, data-free, as in a calibrated GGUF mix.
            if plan.calibration != nil && plan.needsAllocation {
                if plan.hasFixedGGMLType(i) && plan.calibration?.linear(i) == nil { enqueue(.analyzeTask(i, plan.analyzeSpec(i))) }
                continue
            }
            enqueue(plan.needsAllocation ? .measureTask(i, plan.measureSpec(i)) : .analyzeTask(i, plan.analyzeSpec(i)))
        }
        if let calibration = plan.calibration {
            let pipeline = LayerPipeline(calibration, plan: plan)
            for b in calibration.blocks.indices.dropLast() { folderRemaining[plan.assignments[calibration.blocks[b].anchor].folder, default: 0] += 1 }
            for t in pipeline.firstTasks() { enqueue(t) }
            layerPipeline = pipeline
        }
        for f in plan.folders where folderRemaining[f] == 0 { foldersReady.append(f) }
    }

    public var isFinished: Bool { tensorsDone == tensorDone.count }
    public var readyCount: Int { pending.count }
    public var progress: JobProgress {
        JobProgress(tensorsDone: tensorsDone, parametersDone: parametersDone, tasksDone: completedTasks, tasksTotal: tasksTotal)
    }

    private func enqueue(_ t: TaskSpec) {
        pending[t.id] = t
        // A calibrated job's layer passes keep the one FIFO they were designed with.
        if plan.calibration == nil && (t.kind == .quantize || t.kind == .compensate) {
            followUps.append(t.id)
        } else {
            queue.append(t.id)
        }
    }

    /// The next task to lease, with its attempt number (1 for a first try).
    public func next() -> (task: TaskSpec, attempt: Int)? {
        while let id = requeued.popLast() ?? followUps.popFirst() ?? queue.popFirst() {
            guard let t = pending.removeValue(forKey: id) else { continue }
            running[id] = t
            attempts[id, default: 0] += 1
            return (t, attempts[id]!)
        }
        return nil
    }

    /// A second attempt number for a task that is running, for a backup lease of it. Backups do not count against
    /// `maxAttempts`: the task has not failed. Nil when the task is not running.
    public func backupAttempt(_ id: String) -> Int? {
        guard running[id] != nil else { return nil }
        attempts[id, default: 0] += 1
        refusedAttempts[id, default: 0] += 1
        return attempts[id]!
    }

    /// The spec of a task that is ready to lease, if it is.
    public func readyTask(_ id: String) -> TaskSpec? { pending[id] }

    /// The spec of a leased task, if it is leased: what its result is checked against.
    public func runningTask(_ id: String) -> TaskSpec? { running[id] }

    /// Records a finished task. Returns false for a late or duplicate result, which is ignored. Throws when the
    /// last MEASURE result makes the allocation and it fails (a budget below the cheapest candidates).
    @discardableResult
    public func complete(_ o: TaskOutcome) throws(JobError) -> Bool {
        guard let t = running.removeValue(forKey: o.taskId) else { return false }
        try apply(t, o)
        return true
    }

    /// Applies an outcome known from the journal to a task that is ready and was never leased in this process
    /// (resume). Returns false when the task is not ready, e.g. its predecessor was not restored.
    @discardableResult
    public func restore(_ o: TaskOutcome) throws(JobError) -> Bool {
        guard let t = pending.removeValue(forKey: o.taskId) else { return false }
        try apply(t, o)
        return true
    }

    /// Marks every tensor of a folder that a resumed job finds assembled as finished, without replaying its
    /// tasks: what they produced is in the package already. Returns the tasks this counts as done. Only for a
    /// plan with fixed policies (an allocation needs every MEASURE result).
    public func restoreAssembled(folder: String) -> Int {
        var tasks = 0
        for (i, a) in plan.assignments.enumerated() where a.folder == folder && !tensorDone[i] {
            guard let p = a.policy else { continue }
            pending[TaskSpec.analyzeTask(i, plan.analyzeSpec(i)).id] = nil
            let n = 1 + plan.tileCount(i) + (p.compensationRank > 0 ? 1 : 0)
            tasks += n
            completedTasks += n
            parametersDone += a.tensor.entry.elementCount
            finishTensor(i)
        }
        return tasks
    }

    private func apply(_ t: TaskSpec, _ o: TaskOutcome) throws(JobError) {
        // ResultValidator has checked `o` against `t`; a missing part here is a bug, reported rather than trapped on.
        func missing(_ part: String) -> JobError { .invalid("task \(t.id): result without its \(part) reached the scheduler") }
        completedTasks += 1
        let i = t.tensorIndex
        for f in o.outputs { results.stagedFiles[i, default: [:]][f.name] = f }
        switch t.kind {
        case .measure:
            guard let m = o.measurements else { throw missing("measurements") }
            measurements[i] = m
            if let pipeline = layerPipeline, let (b, _) = pipeline.calibration.linear(i) {
                // Calibrated auto: each block is allocated as soon as all its linears are measured.
                let linears = Set(pipeline.calibration.blocks[b].linears.values)
                let block = measurements.filter { linears.contains($0.key) }
                guard block.count == linears.count else { return }
                try allocate(block, what: "the bit allocation of block \(pipeline.calibration.blocks[b].layer)")
                for k in linears.sorted() { measurements[k] = nil; enqueue(.analyzeTask(k, plan.analyzeSpec(k))) }
            } else if measurements.count == quantizedTensors {
                try allocate(measurements, what: "the bit allocation")
                // The resolved plan counts its own tasks; the MEASURE tasks that led to it are done already.
                tasksTotal = plan.taskCount + quantizedTensors
                measurements = [:]
                for (k, a) in plan.assignments.enumerated() where a.isQuantized { enqueue(.analyzeTask(k, plan.analyzeSpec(k))) }
            }
        case .analyze:
            guard let a = o.analysis else { throw missing("analysis") }
            results.analyses[i] = a
            if let pipeline = layerPipeline, pipeline.calibration.linear(i) != nil {
                for q in pipeline.analyzed(i, plan: plan, analysis: a) { enqueue(q) }
            } else {
                for k in 0..<plan.tileCount(i) { enqueue(.quantizeTask(i, tile: k, plan.quantizeSpec(i, tile: k, analysis: a))) }
            }
        case .capture:
            guard o.layerPass != nil, let spec = t.layerPass else { throw missing("layer pass") }
            for q in layerPipeline!.captured(spec, files: o.outputs, plan: plan) { enqueue(q) }
        case .propagate:
            guard o.layerPass != nil, let spec = t.layerPass, let x = o.outputs.first else { throw missing("layer pass") }
            let (next, blockDone) = layerPipeline!.propagated(spec, hidden: x)
            for k in next { enqueue(k) }
            if blockDone { finishFolderPart(plan.assignments[i].folder) }
        case .quantize:
            guard let tile = o.tile, let k = t.tile else { throw missing("tile") }
            results.tileResults[i, default: [:]][k] = tile
            parametersDone += tile.elements
            if let pipeline = layerPipeline, let (b, _) = pipeline.calibration.linear(i) {
                for p in pipeline.quantized(block: b, plan: plan, stagedFiles: results.stagedFiles, analyses: results.analyses) { enqueue(p) }
            }
            if results.tileResults[i, default: [:]].count == plan.tileCount(i) {
                let rank = plan.assignments[i].policy?.compensationRank ?? 0
                if rank > 0, let analysis = results.analyses[i] {
                    enqueue(.compensateTask(i, CompensateSpec(tensor: plan.assignments[i].tensor, rank: rank,
                                                              tileRows: plan.tileRows[i], layout: plan.layout(i, analysis: analysis))))
                } else {
                    finishTensor(i)
                }
            }
        case .compensate:
            guard let c = o.compensation else { throw missing("compensation") }
            results.compensations[i] = c
            finishTensor(i)
        }
    }

    /// Chooses the measured tensors' policies and puts them in the plan (and in the results the assembler reads).
    private func allocate(_ measured: [Int: [CandidateMeasurement]], what: String) throws(JobError) {
        guard let allocation else { throw .invalid("the plan needs a bit allocation and none was given") }
        let overrides: [String: LevelPolicy]
        do { overrides = try allocation(measured, plan) } catch {
            throw .invalid("\(what) failed: \(error)")
        }
        plan = plan.applying(overrides)
        results.overrides = plan.profile.overrides
    }

    private func finishTensor(_ i: Int) {
        tensorDone[i] = true
        tensorsDone += 1
        finishFolderPart(plan.assignments[i].folder)
    }

    private func finishFolderPart(_ f: String) {
        folderRemaining[f]! -= 1
        if folderRemaining[f] == 0 { foldersReady.append(f) }
    }

    /// A task that failed on its worker: requeued while attempts remain and the failure is retryable.
    public func fail(_ taskId: String, reason: String, retryable: Bool) throws(JobError) {
        guard let t = running.removeValue(forKey: taskId) else { return }
        let n = (attempts[taskId] ?? 1) - (refusedAttempts[taskId] ?? 0)
        if !retryable || n >= maxAttempts {
            throw .taskFailed(task: taskId, tensor: plan.assignments[t.tensorIndex].tensor.name, attempts: n, reason: reason)
        }
        pending[taskId] = t
        requeued.append(taskId)
    }

    /// A lease whose worker died or missed its deadline: the task goes back to the front of the queue.
    public func requeue(_ taskId: String, reason: String = "worker lost while running it") throws(JobError) {
        try fail(taskId, reason: reason, retryable: true)
    }

    /// A leased task whose result was refused: back to the front of the queue without using up an attempt's
    /// budget, since the fault is the worker's (which is quarantined after repeated offences), not the task's.
    public func putBack(_ taskId: String) {
        guard let t = running.removeValue(forKey: taskId) else { return }
        refusedAttempts[taskId, default: 0] += 1
        pending[taskId] = t
        requeued.append(taskId)
    }

    /// Drops the results of a folder's tensors once the folder has been handed to the assembler, so that the
    /// coordinator's memory follows the folders in flight, not the whole model (DeepSeek-V3 has 45,813 analyses).
    public func forgetResults(ofFolder folder: String) {
        for (i, a) in plan.assignments.enumerated() where a.folder == folder {
            results.analyses[i] = nil
            results.tileResults[i] = nil
            results.compensations[i] = nil
            results.stagedFiles[i] = nil
        }
    }

    /// Folders whose tensors are all finished, in the order they finished; each is returned once.
    public func takeReadyFolders() -> [String] {
        defer { foldersReady.removeAll() }
        return foldersReady
    }
}
