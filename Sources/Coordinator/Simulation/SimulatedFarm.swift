import Foundation
import Engine
import Pipeline
import UQCITProtocol
#if canImport(Glibc)
import Glibc
#endif

/// What the simulated farm saw from the workers' side of the wire.
public struct FarmReport: Sendable {
    /// Messages the workers sent to the broker and received from it: every message the broker handled.
    public var messagesSent = 0
    public var messagesReceived = 0
    public var resultsSent = 0
    public var workersKilled = 0
    /// Seconds after the farm started when the killed workers fell silent.
    public var killedAt: Double?
    /// CPU seconds of the farm's threads: taken off the process's to give the coordinator's own.
    public var cpuSeconds = 0.0
    /// Seconds after the farm started when the first result for each task left a worker.
    public var firstResults: [String: Double] = [:]
}

/// N simulated workers: real DEALER peers speaking the v2 protocol (Hello, Ready credits, Heartbeat, TaskResult)
/// to the broker's inproc endpoint, a few poller threads each serving a share of them, since a thread per
/// worker is too many at farm scale. Each worker holds a task for its modelled duration and answers with
/// `SimulatedOutcome`, whose files are accounted, not written. Its own state is guarded by `lock`.
final class SimulatedFarm: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopping = false
    private var reports: [FarmReport] = []
    private let threadCount: Int

    init(model: FarmModel, context: ZMQContext, endpoint: String, log: ClusterLog) {
        threadCount = min(model.pollerThreads, model.workers)
        let start = ProcessInfo.processInfo.systemUptime
        for t in 0..<threadCount {
            let indices = Array(stride(from: t, to: model.workers, by: threadCount))
            let thread = Thread { [self] in
                let report = Self.serve(indices, model: model, context: context, endpoint: endpoint, start: start, log: log,
                                        stop: { [self] in lock.withLock { stopping } })
                lock.withLock { reports.append(report) }
                done.signal()
            }
            thread.name = "uqcit.simulated-farm-\(t)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Stops the workers still serving (the broker shut down the others, or they were killed) and sums up.
    func stopAndWait() -> FarmReport {
        lock.withLock { stopping = true }
        for _ in 0..<threadCount { done.wait() }
        var total = FarmReport()
        for r in lock.withLock({ reports }) {
            total.messagesSent += r.messagesSent; total.messagesReceived += r.messagesReceived
            total.resultsSent += r.resultsSent; total.workersKilled += r.workersKilled
            total.killedAt = total.killedAt ?? r.killedAt
            total.cpuSeconds += r.cpuSeconds
            total.firstResults.merge(r.firstResults) { min($0, $1) }
        }
        return total
    }

    private enum State { case live, silent, finished }

    /// The shortest time between two turns of a poller thread's loop: results leave up to this late.
    static let turnSeconds = 0.002

    private struct Worker {
        let name: String
        let socket: ZMQSocket
        let slowdown: Double
        let dies: Bool
        var state = State.live
        var jobID = ""
        var welcomed = false
        /// Welcomed once: later Rejects answer messages sent before the new Hello, and are ignored.
        var rejoining = false
        var heartbeat = HeartbeatSettings()
        var nextHeartbeat = 0.0
        var running: (taskID: String, reply: [UInt8], due: Double)?
    }

    private static func serve(_ indices: [Int], model: FarmModel, context: ZMQContext, endpoint: String, start: Double,
                              log: ClusterLog, stop: () -> Bool) -> FarmReport {
        var report = FarmReport()
        var workers: [Worker] = []
        func now() -> Double { ProcessInfo.processInfo.systemUptime - start }
        func send(_ k: Int, _ bytes: [UInt8]) {
            if (try? workers[k].socket.send(frames: [bytes], dontWait: true)) == true { report.messagesSent += 1 }
        }
        do {
            for i in indices {
                let socket = try ZMQSocket(context: context, type: .dealer)
                try socket.set([.linger(milliseconds: 0), .routingId(EmbeddedPeers.routingID(name: "simulated-\(i)"))])
                try socket.connect(endpoint)
                workers.append(Worker(name: "simulated-\(i)", socket: socket, slowdown: model.isSlow(i) ? model.slowdown : 1,
                                      dies: model.isKilled(i)))
            }
        } catch {
            log("simulated farm: cannot connect its workers: \(error)")
            return report
        }
        for k in workers.indices { send(k, hello(workers[k].name)) }
        var active = Array(workers.indices)
        var poller = ZMQPoller(active.map { workers[$0].socket })
        var killed = false
        var lastTurn = -Double.infinity
        while !stop() {
            // At most one turn per `turnSeconds`: a turn costs a poll over hundreds of sockets, and turns as fast as
            // messages arrive would starve the coordinator of the cores it shares with the farm.
            let gap = now() - lastTurn
            if gap < turnSeconds { Thread.sleep(forTimeInterval: turnSeconds - gap) }
            lastTurn = now()
            var changed = false
            if !killed, let at = model.killAtSeconds, now() >= at {
                killed = true
                report.killedAt = now()
                for k in workers.indices where workers[k].dies && workers[k].state == .live {
                    workers[k].state = .silent
                    report.workersKilled += 1
                }
                changed = true
            }
            let t = now()
            var wake = t + 0.05
            for k in active {
                if let r = workers[k].running { wake = min(wake, r.due) }
                if workers[k].welcomed { wake = min(wake, workers[k].nextHeartbeat) }
            }
            let ready: [Int]
            do { ready = try poller.readable(timeoutMs: Int32(max(0, (wake - t) * 1000).rounded(.up))) } catch {
                log("simulated farm: poll failed: \(error)")
                break
            }
            for p in ready {
                let k = active[p]
                while workers[k].state == .live, let frames = try? workers[k].socket.receive(timeoutMs: 0) {
                    report.messagesReceived += 1
                    guard frames.count == 1, let envelope = try? EnvelopeCodec.decode(frames[0]) else { continue }
                    for reply in handle(envelope, &workers[k], model: model, at: now(), log: log) { send(k, reply) }
                    if workers[k].state != .live { changed = true }
                }
            }
            let t2 = now()
            for k in active where workers[k].state == .live {
                if let r = workers[k].running, r.due <= t2 {
                    workers[k].running = nil
                    send(k, r.reply)
                    report.resultsSent += 1
                    report.firstResults[r.taskID] = min(report.firstResults[r.taskID] ?? .infinity, t2)
                    send(k, Messages.ready(workers[k].jobID, credits: 1))
                }
                if workers[k].welcomed && workers[k].nextHeartbeat <= t2 {
                    send(k, Messages.heartbeat(workers[k].jobID))
                    workers[k].nextHeartbeat = t2 + workers[k].heartbeat.interval
                }
            }
            if changed {
                for k in active where workers[k].state == .finished { workers[k].socket.close() }
                active = workers.indices.filter { workers[$0].state == .live }
                poller = ZMQPoller(active.map { workers[$0].socket })
                if active.isEmpty && !workers.contains(where: { $0.state == .silent }) { break }
            }
            if active.isEmpty { Thread.sleep(forTimeInterval: 0.05) }
        }
        for w in workers where w.state != .finished { w.socket.close() }
        var cpu = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu)
        report.cpuSeconds = Double(cpu.tv_sec) + Double(cpu.tv_nsec) / 1e9
        return report
    }

    private static func hello(_ name: String) -> [UInt8] {
        var hello = Uqcit_V2_Hello()
        hello.workerName = name
        hello.threads = 1
        hello.backends = ["simulated"]
        return Messages.envelope("", .hello(hello))
    }

    /// Applies a message from the broker to `w`; returns the messages to send back.
    private static func handle(_ envelope: Uqcit_V2_Envelope, _ w: inout Worker, model: FarmModel, at now: Double,
                               log: ClusterLog) -> [[UInt8]] {
        switch envelope.body {
        case .welcome(let welcome) where !w.welcomed:
            w.welcomed = true
            w.rejoining = false
            w.jobID = envelope.jobID
            w.heartbeat = (try? HeartbeatSettings(intervalMs: Int(welcome.heartbeatIntervalMs),
                                                  liveness: Int(welcome.heartbeatLiveness)).validated()) ?? HeartbeatSettings()
            w.nextHeartbeat = now + w.heartbeat.interval
            if w.running == nil { return [Messages.ready(w.jobID, credits: 1)] }
        case .taskAssignment(let a):
            guard w.running == nil else {
                return [Messages.failed(w.jobID, taskID: a.taskID, attempt: a.attempt, reason: "no free thread", retryable: true)]
            }
            let task: TaskSpec
            do { task = try TaskSpec(wire: a) } catch {
                return [Messages.failed(w.jobID, taskID: a.taskID, attempt: a.attempt, reason: "\(error)", retryable: false)]
            }
            let seconds = model.nominalSeconds(task)
            let reply = Messages.result(w.jobID, SimulatedOutcome.make(task, seconds: seconds), attempt: a.attempt)
            w.running = (task.id, reply, now + seconds * w.slowdown)
        case .reject(let r) where w.welcomed:
            // The broker declared this worker dead or restarted: a real worker reconnects with a new Hello.
            log("\(w.name): \(r.reason); saying Hello again")
            w.welcomed = false
            w.rejoining = true
            w.running = nil
            return [hello(w.name)]
        case .reject where w.rejoining:
            break
        case .reject(let r):
            log("\(w.name): the coordinator rejected it: \(r.reason)")
            w.state = .finished
        case .shutdown:
            w.state = .finished
        default:
            break
        }
        return []
    }
}
