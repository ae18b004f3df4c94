import Engine

/// One entry of the job journal. PLAN, DONE, FOLDER, RESUME and FINAL are commits (fsynced); LEASE and
/// WORKER are for `coordinator status` and cost no fsync.
public enum JournalRecord: Codable, Sendable, Equatable {
    /// The job as planned: what a resume must find unchanged.
    case plan(sourceFingerprint: String, profileHash: String, layers: String?, tasks: Int)
    /// A task handed to a worker.
    case lease(task: String, attempt: Int, worker: String)
    /// A worker that was welcomed: its name, where it connected from, its threads.
    case worker(name: String, peer: String, threads: Int)
    /// A finished task and its result; its output files were fsynced by the worker before it reported.
    case done(task: String, attempt: Int, worker: String, outcome: TaskOutcome)
    /// An assembled package folder: its files and the per-tensor reports computed while assembling it.
    case folder(name: String, files: [TaskOutputFile], reports: [TensorReport])
    /// A coordinator started again on this journal and skipped the tasks it found done.
    case resume(skippedTasks: Int, skippedFolders: Int)
    /// uqcit_metadata.json is written: the package is complete.
    case final

    /// Whether the record must be on disk before the coordinator acts on it.
    var isCommit: Bool {
        switch self {
        case .lease, .worker: return false
        default: return true
        }
    }
}
