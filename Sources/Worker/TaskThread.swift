import Foundation
import Engine
import Pipeline
import UQCITProtocol

/// One thread of a worker that runs tasks. It talks to its agent over an inproc PAIR only: the agent sends
/// `[session, TaskAssignment envelope]`, the thread answers `[session, TaskResult or TaskFailed envelope]`;
/// an empty message stops it. So no socket and no scheduler state is shared between threads.
final class TaskThread: @unchecked Sendable {
    let endpoint: String
    private let done = DispatchSemaphore(value: 0)

    /// `executor` gives the step executor of the current session (source and staging folder come with Welcome);
    /// `taskLog`, when given, takes a line per finished task.
    init(context: ZMQContext, index: Int, executor: @escaping @Sendable () -> StepExecutor?, delayMs: Int,
         taskLog: (@Sendable (String) -> Void)? = nil) throws {
        endpoint = "inproc://uqcit.task-thread.\(UUID().uuidString)"
        let socket = try ZMQSocket(context: context, type: .pair)
        try socket.set(.linger(milliseconds: 0))
        try socket.connect(endpoint)
        let handoff = ZMQSocketHandoff(socket)
        let thread = Thread { [done] in
            Self.serve(handoff.take(), executor: executor, delayMs: delayMs, taskLog: taskLog)
            done.signal()
        }
        thread.name = "uqcit.task-\(index)"
        thread.stackSize = 8 << 20
        thread.start()
    }

    func join() { done.wait() }

    private static func serve(_ socket: ZMQSocket, executor: () -> StepExecutor?, delayMs: Int, taskLog: ((String) -> Void)?) {
        defer { socket.close() }
        while let frames = try? socket.receive(timeoutMs: -1), frames.count == 2 {
            let session = frames[0]
            guard let envelope = try? EnvelopeCodec.decode(frames[1]), case .taskAssignment(let a) = envelope.body else { continue }
            let reply = run(a, jobID: envelope.jobID, executor: executor(), delayMs: delayMs, taskLog: taskLog)
            guard (try? socket.send(frames: [session, reply])) == true else { return }
        }
    }

    private static func run(_ a: Uqcit_V2_TaskAssignment, jobID: String, executor: StepExecutor?, delayMs: Int, taskLog: ((String) -> Void)?) -> [UInt8] {
        guard let executor else {
            return Messages.failed(jobID, taskID: a.taskID, attempt: a.attempt, reason: "worker has no source open", retryable: true)
        }
        do {
            let task = try TaskSpec(wire: a)
            // Tests only: make tasks slow enough that a process can be killed in the middle of one.
            if delayMs > 0 { Thread.sleep(forTimeInterval: Double(delayMs) / 1000) }
            if taskLog != nil { PeakResidentMemory.reset() }
            let outcome = try executor.execute(task)
            taskLog?(String(format: "task %@ (%@) took %.2f s, peak resident memory %@", task.id, task.kind.rawValue, outcome.seconds,
                            PeakResidentMemory.megabytes().map { String(format: "%.1f MB", $0) } ?? "unknown"))
            return Messages.result(jobID, outcome, attempt: a.attempt)
        } catch {
            return Messages.failed(jobID, taskID: a.taskID, attempt: a.attempt, reason: "\(error)", retryable: isRetryable(error))
        }
    }
}

/// Whether a step's error is worth another attempt: bad source data or a malformed task is not, an I/O hiccup may be.
private func isRetryable(_ error: Error) -> Bool {
    !(error is CheckpointError || error is WireFormatError)
}
