import Foundation
import Engine
import Pipeline
import Runtime
import UQCITProtocol

public struct WorkerSettings: Sendable {
    /// The coordinator, e.g. "tcp://10.0.0.5:5555" or an embedded inproc:// endpoint.
    public var endpoint: String
    public var name: String
    public var threads: Int
    public var curve: CurveClientSettings?
    /// Used until the coordinator's Welcome sets the session's values.
    public var heartbeat: HeartbeatSettings
    /// Longest wait between reconnection attempts; the wait doubles from one heartbeat interval up to this.
    public var maxReconnectDelay: TimeInterval
    /// Tests only (UQCIT_TEST_TASK_DELAY_MS): each task sleeps this long first, so a kill lands mid-task.
    public var taskDelayMs: Int
    /// Log joining and shutting down; embedded workers leave that to the coordinator.
    public var logsSessions = true
    /// Log every finished task with its seconds and the process's peak resident memory while it ran.
    public var logsTasks = false

    public init(endpoint: String, name: String, threads: Int, curve: CurveClientSettings? = nil, heartbeat: HeartbeatSettings = .init(),
                maxReconnectDelay: TimeInterval = 16, taskDelayMs: Int = 0) {
        self.endpoint = endpoint; self.name = name; self.threads = max(1, threads); self.curve = curve
        self.heartbeat = heartbeat; self.maxReconnectDelay = maxReconnectDelay; self.taskDelayMs = taskDelayMs
    }
}

public enum WorkerError: Error, CustomStringConvertible, Sendable {
    case rejected(coordinator: String, reason: String)
    case handshakeFailed(coordinator: String, reason: String)
    case sourceUnavailable(String)

    public var description: String {
        switch self {
        case let .rejected(c, r): return "coordinator \(c) rejected this worker: \(r)"
        case let .handshakeFailed(c, r): return "cannot talk to coordinator \(c): \(r)"
        case let .sourceUnavailable(r): return r
        }
    }
}

/// A worker: one DEALER to the coordinator, owned by the thread that calls `run`, and `threads` task threads.
/// The Paranoid Pirate worker: Hello, then Ready with one credit per idle thread; heartbeats while tasks run;
/// when the coordinator falls silent it closes the socket and reconnects with a growing delay.
public final class WorkerAgent: @unchecked Sendable {
    public typealias SourceOpener = @Sendable (_ sourceDir: String) throws -> TensorRowSource

    let context: ZMQContext
    let settings: WorkerSettings
    let openSource: SourceOpener
    /// An embedded worker's tiles for the assembler in the same process (`TileHandoff`); nil for a worker elsewhere.
    let handoff: TileHandoff?
    let log: ClusterLog
    private let lock = NSLock()
    // Guarded by `lock`.
    private var stopping = false
    private var executor: StepExecutor?
    private var openedSource: (dir: String, source: TensorRowSource)?
    /// Stream mode: this worker's own staging folder, removed when `run` returns (agent thread only).
    private var localStaging: String?
    /// Handshakes the coordinator hung up on since the last one that succeeded (agent thread only).
    private var brokenHandshakes = 0

    public init(context: ZMQContext, settings: WorkerSettings, openSource: @escaping SourceOpener, log: ClusterLog, handoff: TileHandoff? = nil) {
        self.context = context; self.settings = settings; self.openSource = openSource; self.log = log; self.handoff = handoff
    }

    /// Asks `run` to leave cleanly (it tells the coordinator); safe from any thread.
    public func stop() { lock.withLock { stopping = true } }
    private var stopRequested: Bool { lock.withLock { stopping } }

    enum SessionEnd { case shutdown(String), stopped, lost(String) }

    /// Serves until the coordinator says Shutdown or `stop()` is called; throws when continuing cannot help
    /// (rejected, wrong keys, source not readable).
    public func run() throws {
        var threads: [TaskThread] = []
        var pairs: [ZMQSocket] = []
        let taskLog: (@Sendable (String) -> Void)?
        if settings.logsTasks {
            let log = log, name = settings.name
            taskLog = { line in log("worker \(name): \(line)") }
        } else {
            taskLog = nil
        }
        for k in 0..<settings.threads {
            let t = try TaskThread(context: context, index: k, executor: { [self] in lock.withLock { executor } }, delayMs: settings.taskDelayMs,
                                   taskLog: taskLog)
            let pair = try ZMQSocket(context: context, type: .pair)
            try pair.set(.linger(milliseconds: 0))
            try pair.bind(t.endpoint)
            threads.append(t); pairs.append(pair)
        }
        var busy = Set<Int>()
        defer {
            // Let running tasks finish so that no thread is left writing into a closed pair, then stop them all.
            for k in busy { _ = try? pairs[k].receive(timeoutMs: -1) }
            for p in pairs { _ = try? p.send(frames: [[]]) }
            for t in threads { t.join() }
            for p in pairs { p.close() }
            if let localStaging { try? FileManager.default.removeItem(atPath: localStaging) }
        }
        var delay = settings.heartbeat.interval
        var session: UInt64 = 0
        while true {
            session += 1
            switch try runSession(session, pairs: pairs, busy: &busy) {
            case .shutdown(let reason):
                if settings.logsSessions { log("worker \(settings.name): coordinator says shut down: \(reason)") }
                return
            case .stopped:
                return
            case .lost(let reason):
                log(String(format: "worker %@: %@; reconnecting in %.1f s", settings.name, reason, delay))
                let until = Date().addingTimeInterval(delay)
                while Date() < until {
                    if stopRequested { return }
                    Thread.sleep(forTimeInterval: min(0.05, max(0, until.timeIntervalSinceNow)))
                }
                delay = min(delay * 2, settings.maxReconnectDelay)
            }
        }
    }

    private func runSession(_ session: UInt64, pairs: [ZMQSocket], busy: inout Set<Int>) throws -> SessionEnd {
        let sessionTag = withUnsafeBytes(of: session.littleEndian) { Array($0) }
        let dealer = try ZMQSocket(context: context, type: .dealer)
        defer { dealer.close() }
        try dealer.set([.linger(milliseconds: 0), .maxMessageSize(bytes: WireProtocol.maxFrameBytes)])
        if settings.endpoint.hasPrefix("inproc://") {
            try dealer.set(.routingId(EmbeddedPeers.routingID(name: "\(settings.name).\(session)")))
        }
        if let curve = settings.curve {
            try dealer.set([.curvePublicKey(curve.keys.publicKey), .curveSecretKey(curve.keys.secretKey), .curveServerKey(curve.serverPublicKey)])
        }
        let monitor = settings.endpoint.hasPrefix("tcp://") ? try ZMQMonitor(monitoring: dealer) : nil
        defer { monitor?.close() }
        try dealer.connect(settings.endpoint)

        var hello = Uqcit_V2_Hello()
        hello.workerName = settings.name
        hello.threads = UInt32(settings.threads)
        hello.memoryBytes = ProcessInfo.processInfo.physicalMemory
        hello.backends = ["cpu"]
        hello.storageMode = ""          // either: the Welcome decides
        var jobID = ""
        func send(_ bytes: [UInt8]) { _ = try? dealer.send(frames: [bytes], dontWait: true) }
        send(Messages.envelope("", .hello(hello)))

        var heartbeat = settings.heartbeat
        var welcomed = false
        var mode = StorageMode.shared
        var outbox = StreamOutbox()
        var inbox: StreamInbox?
        var lastHeard = Date()
        var nextHeartbeat = Date().addingTimeInterval(heartbeat.interval)
        let poller = ZMQPoller([dealer] + pairs + (monitor.map { [$0.socket] } ?? []))
        while true {
            if stopRequested {
                if welcomed { send(Messages.shutdown(jobID, "worker \(settings.name) is stopping")) }
                return .stopped
            }
            let wait = min(heartbeat.interval, max(0, nextHeartbeat.timeIntervalSinceNow))
            _ = try poller.readable(timeoutMs: Int32(wait * 1000))
            while let event = try monitor?.nextEvent(timeoutMs: 0) {
                switch event.kind {
                case .handshakeFailedProtocol:
                    throw WorkerError.handshakeFailed(coordinator: settings.endpoint, reason:
                        "the CURVE handshake failed (protocol error 0x\(String(event.value, radix: 16))): the server key given to this worker is not the coordinator's, or the coordinator does not use CURVE")
                case .handshakeFailedAuth:
                    throw WorkerError.handshakeFailed(coordinator: settings.endpoint, reason:
                        "the coordinator refused this worker's key (ZAP status \(event.value))" + (settings.curve.map { ": ask its operator to allow public key \($0.keys.publicKey)" } ?? ""))
                case .handshakeFailedNoDetail:
                    // A CURVE server that cannot decrypt our HELLO (we hold the wrong server key) just hangs up.
                    brokenHandshakes += 1
                    if brokenHandshakes >= 3 && !welcomed {
                        throw WorkerError.handshakeFailed(coordinator: settings.endpoint, reason: settings.curve != nil
                            ? "the coordinator broke off \(brokenHandshakes) CURVE handshakes: the server key given to this worker is not the coordinator's"
                            : "the coordinator broke off \(brokenHandshakes) handshakes: it probably requires CURVE keys (--key, --server-key)")
                    }
                case .handshakeSucceeded:
                    brokenHandshakes = 0
                default: break
                }
            }
            while let frames = try dealer.receive(timeoutMs: 0) {
                lastHeard = Date()
                guard frames.count == 1, let envelope = try? EnvelopeCodec.decode(frames[0]) else {
                    log("worker \(settings.name): ignoring an unreadable message from the coordinator")
                    continue
                }
                switch envelope.body {
                case .welcome(let w) where !welcomed:
                    welcomed = true
                    jobID = envelope.jobID
                    do {
                        heartbeat = try HeartbeatSettings(intervalMs: Int(w.heartbeatIntervalMs), liveness: Int(w.heartbeatLiveness)).validated()
                    } catch {
                        throw WorkerError.rejected(coordinator: settings.endpoint, reason: "its Welcome asks for \(error)")
                    }
                    // The first heartbeat was timed by this worker's own interval: a coordinator with a shorter one
                    // would hear nothing while the first task runs and declare this worker dead.
                    nextHeartbeat = min(nextHeartbeat, Date().addingTimeInterval(heartbeat.interval))
                    mode = StorageMode(rawValue: w.storageMode) ?? .shared
                    let staging = try useSource(w, mode: mode)
                    // The coordinator streams the staged files a task reads one after another, at most one per thread.
                    inbox = StreamInbox(root: staging, maxOpenFiles: settings.threads)
                    if settings.logsSessions { log("worker \(settings.name) joined \(w.coordinatorName) at \(settings.endpoint) (job \(jobID))") }
                    send(Messages.ready(jobID, credits: settings.threads - busy.count))
                case .reject(let r):
                    if !welcomed { throw WorkerError.rejected(coordinator: settings.endpoint, reason: r.reason) }
                    return .lost("coordinator rejected a message: \(r.reason)")
                case .taskAssignment:
                    guard welcomed else { continue }
                    // Streamed inputs no task here reads any more: the coordinator alone decides, so none is in use.
                    if mode == .stream, let staging = inbox?.root {
                        for name in envelope.taskAssignment.releaseInputs where StreamInbox.isSafe(name) {
                            try? FileManager.default.removeItem(atPath: staging + "/" + name)
                        }
                    }
                    if let k = pairs.indices.first(where: { !busy.contains($0) }) {
                        busy.insert(k)
                        _ = try pairs[k].send(frames: [sessionTag, frames[0]])
                    } else {
                        let a = envelope.taskAssignment
                        send(Messages.failed(jobID, taskID: a.taskID, attempt: a.attempt, reason: "no free thread", retryable: true))
                    }
                case .shutdown(let s):
                    return .shutdown(s.reason)
                case .chunk(let c):
                    // Staged files a task will read (stream mode: tiles, activations, H shards), ahead of its
                    // assignment. No size bound: only the coordinator knows their sizes, and this worker holds its key.
                    do {
                        try inbox?.receive(c, maxBytes: .max)
                    } catch {
                        log("worker \(settings.name): bad chunk from the coordinator: \(error)")
                    }
                    var ack = Uqcit_V2_ChunkAck(); ack.taskID = c.taskID; ack.credits = 1
                    send(Messages.envelope(jobID, .chunkAck(ack)))
                case .chunkAck(let a):
                    outbox.grant(Int(a.credits))
                case .heartbeat, .welcome:
                    break
                default:
                    log("worker \(settings.name): ignoring an unexpected \(Messages.name(envelope.body))")
                }
            }
            for k in pairs.indices where busy.contains(k) {
                guard let reply = try pairs[k].receive(timeoutMs: 0) else { continue }
                busy.remove(k)
                // A reply from an earlier session is dropped: that coordinator session requeued the task.
                if welcomed && reply.count == 2 && reply[0] == sessionTag {
                    if mode == .stream, let staging = inbox?.root {
                        try streamOutputs(reply[1], from: staging, into: &outbox)
                    } else {
                        outbox.enqueue(.message(reply[1]))
                    }
                }
                if welcomed { outbox.enqueue(.message(Messages.ready(jobID, credits: 1))) }
            }
            // Results, their streamed outputs and the Ready that follows them go out in order, as credits allow.
            try outbox.pump(jobID: jobID) { (try? dealer.send(frames: [$0], dontWait: true)) ?? false }
            if welcomed && Date() >= nextHeartbeat {
                send(Messages.heartbeat(jobID))
                nextHeartbeat = Date().addingTimeInterval(heartbeat.interval)
            }
            let silent = Date().timeIntervalSince(lastHeard)
            if silent > heartbeat.silence {
                let seconds = String(format: "%.1f s", silent)
                return .lost(welcomed ? "coordinator silent for \(seconds)" : "no Welcome from \(settings.endpoint) within \(seconds)")
            }
        }
    }

    /// Stream mode: the result's output files go first, as Chunks, then the result itself (marked streamed).
    private func streamOutputs(_ reply: [UInt8], from staging: String, into outbox: inout StreamOutbox) throws {
        let envelope = try? EnvelopeCodec.decode(reply)
        switch envelope?.body {
        case .taskResult(var r):
            for i in r.outputs.indices {
                outbox.enqueue(.file(taskID: r.taskID, attempt: r.attempt, name: r.outputs[i].name,
                                     path: staging + "/" + r.outputs[i].name, removeAfter: true))
                r.outputs[i].streamed = true
            }
            var streamed = envelope!
            streamed.body = .taskResult(r)
            outbox.enqueue(.message(try EnvelopeCodec.encode(streamed)))
        default:
            outbox.enqueue(.message(reply))
        }
    }

    /// Opens the source the Welcome names (once per source) and points the task threads at it and at the staging
    /// folder: the coordinator's (shared mode) or this worker's own (stream mode). Returns the staging folder.
    private func useSource(_ w: Uqcit_V2_Welcome, mode: StorageMode) throws -> String {
        let staging: String
        if mode == .stream {
            // A new session starts empty: this coordinator knows nothing of what an earlier one sent, and
            // releases only what it sent itself.
            if let old = localStaging { try? FileManager.default.removeItem(atPath: old) }
            localStaging = NSTemporaryDirectory() + "uqcit-worker-\(settings.name)-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: localStaging!, withIntermediateDirectories: true)
            staging = localStaging!
        } else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: w.stagingDir, isDirectory: &isDir), isDir.boolValue else {
                throw WorkerError.sourceUnavailable("the coordinator's staging folder \(w.stagingDir) is not visible here: shared storage mode needs the output folder on a filesystem shared with the coordinator (or use storage: stream)")
            }
            staging = w.stagingDir
        }
        let cached = lock.withLock { openedSource }
        let source: TensorRowSource
        if let cached, cached.dir == w.sourceDir {
            source = cached.source
        } else {
            do { source = try openSource(w.sourceDir) } catch {
                throw WorkerError.sourceUnavailable("cannot open the source the coordinator names (\(w.sourceDir)): \(error)")
            }
        }
        lock.withLock {
            openedSource = (w.sourceDir, source)
            // Stream mode stages in this worker's own folder, which the coordinator never reads: no handoff.
            executor = StepExecutor(source: source, stagingFolder: staging, layerPasses: BlockLayerPasses(), handoff: mode == .stream ? nil : handoff)
        }
        return staging
    }
}
