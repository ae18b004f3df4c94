import Foundation
import Engine
import Pipeline
import UQCITProtocol
import Worker

/// The coordinator's own workers: worker agents on threads of this process, reaching the broker over inproc://
/// with the same protocol as remote ones. They read the coordinator's already opened source.
final class EmbeddedWorkers {
    private let agents: [WorkerAgent]
    private let done = DispatchSemaphore(value: 0)

    init(count: Int, context: ZMQContext, endpoint: String, heartbeat: HeartbeatSettings, source: TensorRowSource, log: ClusterLog,
         handoff: TileHandoff? = nil) {
        let delay = Int(ProcessInfo.processInfo.environment["UQCIT_TEST_TASK_DELAY_MS"] ?? "") ?? 0
        agents = (0..<count).map { k in
            var settings = WorkerSettings(endpoint: endpoint, name: "embedded-\(k)", threads: 1, heartbeat: heartbeat, taskDelayMs: delay)
            settings.logsSessions = false
            return WorkerAgent(context: context, settings: settings, openSource: { _ in source }, log: log, handoff: handoff)
        }
        for (k, agent) in agents.enumerated() {
            let thread = Thread { [done] in
                do { try agent.run() } catch { log("embedded worker \(k) stopped: \(error)") }
                done.signal()
            }
            thread.name = "uqcit.embedded-\(k)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Stops the agents (those the broker already shut down have left) and waits for their threads.
    func stopAndWait() {
        for a in agents { a.stop() }
        for _ in agents { done.wait() }
    }
}
