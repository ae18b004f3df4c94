import Engine

/// Runs a job's tasks somewhere: in-process threads, or workers reached over a transport. The coordinator
/// drives it and assembles each package folder as soon as the pool reports it complete.
public protocol WorkerPool {
    /// Runs until the scheduler is finished or a task fails for good. `folderReady` is called on the calling
    /// thread for each completed folder; `tick` about twice a second, for progress.
    func run(_ scheduler: JobScheduler, folderReady: (String) throws -> Void, tick: () -> Void) throws
}

/// Whether a step's error is worth another attempt: bad source data is not, an I/O hiccup may be.
func isRetryable(_ error: Error) -> Bool {
    !(error is CheckpointError)
}
