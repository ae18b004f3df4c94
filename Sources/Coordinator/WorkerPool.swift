/// Runs a job's tasks somewhere. The coordinator drives it and assembles each package folder as soon as the
/// pool reports it complete. The one implementation is the ZeroMQ `Broker`; embedded workers reach it over
/// inproc://, so a laptop and a farm run the same code path.
public protocol WorkerPool {
    /// Runs until the scheduler is finished or a task fails for good. The scheduler belongs to the pool while this
    /// runs. `folderReady` is called on the calling thread for each completed folder, with a snapshot of the
    /// results it needs; `tick` about twice a second, for progress.
    func run(_ scheduler: JobScheduler, folderReady: (String, TaskResults) throws -> Void, tick: (JobProgress) -> Void) throws
}
