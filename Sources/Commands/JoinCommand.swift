import ArgumentParser
import Foundation
import Engine
import Pipeline
import Worker
import UQCITProtocol

/// `worker join HOST:PORT`: serve a coordinator until it says the job is done.
struct JoinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Connect to a coordinator and run its tasks until the job ends.",
        discussion: "Shared storage: the coordinator's source and output folders must be visible here at the same paths. SIGTERM or Ctrl-C leaves cleanly.")

    @Argument(help: "The coordinator, HOST:PORT or tcp://HOST:PORT.") var coordinator: String
    @Option(help: "Task threads (default: the core count).") var threads: Int?
    @Option(help: "Name in the coordinator's logs and journal (default: host name and process id).") var name: String?
    @Option(help: "This worker's CURVE secret key file (NAME.key_secret).") var key: String?
    @Option(help: "The coordinator's CURVE public key file (NAME.key).") var serverKey: String?
    @Option(help: "Heartbeat interval in milliseconds until the coordinator's Welcome says otherwise.") var heartbeatMs: Int = 1000
    @Option(help: "Longest wait between reconnection attempts, in seconds.") var maxReconnectDelay: Double = 16
    @Flag(help: "Log each finished task: its kind, seconds and the worker's peak resident memory while it ran (one task at a time with --threads 1).")
    var logTasks = false

    func run() throws {
        try withCleanExit {
            let endpoint = coordinator.contains("://") ? coordinator : "tcp://" + coordinator
            let n = threads ?? ProcessInfo.processInfo.activeProcessorCount
            guard n >= 1 else { throw ValidationError("--threads must be at least 1") }
            var curve: CurveClientSettings?
            switch (key, serverKey) {
            case let (k?, s?): curve = CurveClientSettings(keys: try KeyFiles.pair(secretKeyFile: k), serverPublicKey: try CurveKeyPair.readPublicKey(file: s))
            case (nil, nil): curve = nil
            default: throw ValidationError("--key and --server-key go together")
            }
            var settings = WorkerSettings(
                endpoint: endpoint, name: name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())", threads: n, curve: curve,
                heartbeat: try HeartbeatSettings(intervalMs: heartbeatMs).validated(), maxReconnectDelay: maxReconnectDelay,
                taskDelayMs: Int(ProcessInfo.processInfo.environment["UQCIT_TEST_TASK_DELAY_MS"] ?? "") ?? 0)
            settings.logsTasks = logTasks
            let agent = WorkerAgent(context: try ZMQContext(), settings: settings, openSource: { try ModelSources.open($0) }, log: .standardError)
            let signals = SignalTrap([SIGTERM, SIGINT]) { agent.stop() }
            defer { signals.cancel() }
            try agent.run()
        }
    }
}

/// Turns the given signals into a call on a dispatch queue instead of the default termination.
final class SignalTrap {
    private let sources: [DispatchSourceSignal]

    init(_ signals: [Int32], _ handler: @escaping @Sendable () -> Void) {
        sources = signals.map { sig in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler(handler: handler)
            s.resume()
            return s
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
