import Foundation
import Engine

/// Embedded workers as plain threads over one executor, sharing the scheduler under one lock.
public final class LocalWorkerPool: WorkerPool, @unchecked Sendable {
    public let workers: Int
    public let executor: StepExecutor
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var failure: Error?
    private var exited = 0

    public init(workers: Int, executor: StepExecutor) {
        self.workers = max(1, workers)
        self.executor = executor
    }

    public func run(_ scheduler: JobScheduler, folderReady: (String) throws -> Void, tick: () -> Void) throws {
        failure = nil
        exited = 0
        for w in 0..<workers {
            let t = Thread { [self] in workerLoop(scheduler) }
            t.name = "uqcit-worker-\(w)"
            t.stackSize = 8 << 20
            t.start()
        }
        while true {
            condition.lock()
            var folders = scheduler.takeReadyFolders()
            if folders.isEmpty && !scheduler.isFinished && failure == nil {
                _ = condition.wait(until: Date().addingTimeInterval(0.5))
                folders = scheduler.takeReadyFolders()
            }
            let finished = scheduler.isFinished || failure != nil
            condition.unlock()
            for f in folders {
                do { try folderReady(f) } catch {
                    condition.lock(); failure = failure ?? error; condition.broadcast(); condition.unlock()
                    break
                }
            }
            tick()
            if finished && folders.isEmpty { break }
        }
        condition.lock()
        condition.broadcast()
        while exited < workers { condition.wait() }
        let f = failure
        condition.unlock()
        if let f { throw f }
    }

    private func workerLoop(_ scheduler: JobScheduler) {
        while true {
            condition.lock()
            var leased = scheduler.next()
            while leased == nil && failure == nil && !scheduler.isFinished {
                condition.wait()
                leased = scheduler.next()
            }
            guard let (task, _) = leased, failure == nil else {
                exited += 1
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            let result = Result { try executor.execute(task) }
            condition.lock()
            switch result {
            case .success(let o): scheduler.complete(o)
            case .failure(let e):
                do { try scheduler.fail(task.id, reason: "\(e)", retryable: isRetryable(e)) } catch { failure = failure ?? error }
            }
            condition.broadcast()
            condition.unlock()
        }
    }
}
