import Foundation
import Engine
import Pipeline
import UQCITProtocol

/// What a worker is told in its Welcome, and what identifies the job on the wire.
public struct JobWire: Sendable {
    public var jobID: String
    public var coordinatorName: String
    public var stagingDir: String
    public var sourceDir: String
}

/// The coordinator's side of the cluster: a ROUTER socket served by one thread (the ZeroMQ guide's Paranoid
/// Pirate broker). Workers, embedded ones over inproc:// and remote ones over tcp://, pull tasks with credits;
/// the broker leases tasks from the `JobScheduler`, which only its thread touches, and requeues the leases of
/// workers that stop answering heartbeats.
public final class Broker: WorkerPool {
    public let context: ZMQContext
    public let inprocEndpoint: String
    /// The tcp endpoints actually bound, with ports resolved (`tcp://127.0.0.1:*` becomes a real port).
    public let boundEndpoints: [String]
    let options: ClusterOptions
    let wire: JobWire
    let journal: Journal?
    let log: ClusterLog
    private var loop: BrokerLoop?
    /// What the loop counted, once `run` has returned.
    public private(set) var counters = BrokerCounters()
    private let zap: ZAPHandler?

    /// Binds now, so that bind errors surface before any work starts and embedded workers can connect.
    public init(context: ZMQContext, options: ClusterOptions, wire: JobWire, journal: Journal?, log: ClusterLog) throws {
        try options.checkBindPolicy()
        self.context = context
        self.options = options
        self.wire = wire
        self.journal = journal
        self.log = log
        inprocEndpoint = "inproc://uqcit.coordinator.\(UUID().uuidString)"
        // The ZAP handler must be bound in this context before a CURVE server socket binds.
        zap = try options.curve.map { try ZAPHandler(context: context, allowedPublicKeys: $0.allowedWorkerKeys) }
        let router = try ZMQSocket(context: context, type: .router)
        try router.set([.routerMandatory(true), .maxMessageSize(bytes: WireProtocol.maxFrameBytes), .linger(milliseconds: 500),
                        .receiveHighWaterMark(messages: Self.receiveHighWaterMark)])
        if let curve = options.curve {
            try router.set([.curveServer(true), .curveSecretKey(curve.keys.secretKey), .zapDomain("uqcit"), .zapEnforceDomain(true)])
        }
        let monitor = try ZMQMonitor(monitoring: router, events: ZMQMonitor.allEvents)
        var bound: [String] = []
        for endpoint in options.bind {
            try router.bind(endpoint)
            bound.append(try router.lastEndpoint())
        }
        try router.bind(inprocEndpoint)
        boundEndpoints = bound
        loop = BrokerLoop(router: router, monitor: monitor, options: options, wire: wire, journal: journal, log: log)
    }

    /// Messages queued per peer before ZeroMQ stops reading from it: a worker has at most its stream window
    /// of chunks and a few control messages in flight, so this bounds what a flooding peer can make the
    /// coordinator hold (64 x the frame limit) without slowing an honest one.
    static let receiveHighWaterMark: Int32 = 64

    deinit { zap?.stop() }

    public func run(_ scheduler: JobScheduler, folderReady: (String, TaskResults) throws -> Void, tick: (JobProgress) -> Void) throws {
        guard let loop else { throw JobError.invalid("a broker runs one job") }
        self.loop = nil
        let mailbox = BrokerMailbox()
        let done = DispatchSemaphore(value: 0)
        let zap = self.zap
        // The loop and its sockets were built on this thread; from here on only the new thread touches them.
        let handoff = LoopHandoff(loop: loop)
        let thread = Thread {
            handoff.loop.serve(scheduler, mailbox: mailbox, zap: zap)
            done.signal()
        }
        thread.name = "uqcit.broker"
        thread.stackSize = 8 << 20
        thread.start()

        var failure: Error?
        outer: while true {
            let (events, progress) = mailbox.take(timeout: 0.5)
            for e in events {
                switch e {
                case let .folder(name, results):
                    guard failure == nil else { continue }
                    do { try folderReady(name, results) } catch {
                        failure = error
                        mailbox.requestStop(error)
                    }
                case .finished, .stopped:
                    break outer
                case .failed(let e):
                    failure = failure ?? e
                    break outer
                }
            }
            tick(progress)
        }
        done.wait()
        counters = handoff.loop.counters
        if let failure { throw failure }
    }

    private struct LoopHandoff: @unchecked Sendable { let loop: BrokerLoop }
}
