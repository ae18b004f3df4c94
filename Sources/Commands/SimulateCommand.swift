import ArgumentParser
import Foundation
import Engine
import Pipeline
import Coordinator

/// `coordinator simulate`: a whole job through the real coordinator with simulated workers (see README).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a job through the real planner, scheduler, broker, journal and resume with simulated workers.",
        discussion: """
            Workers are ZeroMQ peers in this process that hold each task for its parameters over --mparams-per-second,
            times --time-factor, and answer with results whose outputs are accounted (sizes, digests) but not written.
            Running the same command again on --out resumes the job from its journal.
            """)

    @Option(help: "synthetic:NAME (\(SyntheticArchitecture.names.joined(separator: ", "))) or a checkpoint folder.") var model: String
    @Option(help: "Simulated workers.") var workers: Int
    @Option(help: "Output folder: the journal and the accounting go here, no package.") var out: String
    @Option(help: "Profile name or YAML path (default uqcit).") var profile = "uqcit"
    @Option(help: "Millions of parameters a worker gets through per second.") var mparamsPerSecond = 20.0
    @Option(help: "Scales every modelled task duration.") var timeFactor = 1.0
    @Option(help: "Share of the workers that are --slowdown times slower.") var slowFraction = 0.0
    @Option(help: "How much slower the slow workers are.") var slowdown = 10.0
    @Option(help: "Share of the workers that fall silent at once, at --at.") var killFraction = 0.0
    @Option(help: "Seconds after the workers start when --kill-fraction of them fall silent.") var at: Double?
    @Flag(help: "Lease still-running tasks again to idle workers once nothing is ready (backup tasks).") var backupTasks = false
    @Option(help: "SIGKILL this process once this share of the tasks is done (then run again to resume).") var crashAt: Double?
    @Option(help: "Heartbeat interval in milliseconds.") var heartbeatMs = 1000
    @Option(help: "Heartbeats a worker may miss before it is declared dead.") var liveness = 3
    @Option(help: "Threads that poll the simulated workers' sockets.") var pollerThreads = 4
    @Flag(help: "The summary as JSON on stdout.") var json = false
    @Flag(help: "No progress lines on stderr.") var quiet = false

    func run() throws {
        try withCleanExit {
            if let f = crashAt, !(f > 0 && f <= 1) { throw ValidationError("--crash-at takes a share of the tasks in (0, 1], got \(f)") }
            let farm = FarmModel(workers: workers, mparamsPerSecond: mparamsPerSecond, timeFactor: timeFactor, slowFraction: slowFraction,
                                 slowdown: slowdown, killFraction: killFraction, killAtSeconds: at, pollerThreads: pollerThreads)
            let heartbeat = try HeartbeatSettings(intervalMs: heartbeatMs, liveness: liveness).validated()
            let s = try SimulatedJob.run(SimulationOptions(model: model, out: out, profile: try ProfileLoader.load(profile), farm: farm,
                                                           heartbeat: heartbeat, backupTasks: backupTasks, crashAtFraction: crashAt,
                                                           progress: !quiet))
            print(json ? String(decoding: try PackageJSON.encode(s), as: UTF8.self) : text(s), terminator: json ? "" : "\n")
        }
    }

    func text(_ s: SimulationSummary) -> String {
        var lines = [String(format: "simulated %@ on %d workers: %d tasks (%d resumed) in %.1f s", s.model, s.workers, s.tasks, s.resumedTasks, s.seconds)]
        lines.append(String(format: "  coordinator CPU %.1f s (%.2f of a core), peak RSS %.0f MB (process), plan %.1f s, resume %.2f s",
                            s.coordinatorCPUSeconds, s.coordinatorCPUPerWall, Double(s.peakRSSBytes) / 1e6, s.planSeconds, s.resumeSeconds))
        lines.append(String(format: "  broker messages %d (%.0f/s), journal %.1f MB", s.brokerMessages, s.brokerMessagesPerSecond, Double(s.journalBytes) / 1e6))
        if s.workersKilled > 0 {
            lines.append("  killed \(s.workersKilled) workers, \(s.workersDeclaredDead) declared dead"
                         + (s.detectionSeconds.map { String(format: " after %.2f s", $0) } ?? "") + ", \(s.tasksRequeued) tasks requeued")
        }
        if s.backupLeases > 0 { lines.append("  backup leases \(s.backupLeases), won \(s.backupWins), late results ignored \(s.backupResultsIgnored)") }
        if let t = s.tailSeconds { lines.append(String(format: "  tail (99%% to 100%% of the results sent): %.2f s", t)) }
        lines.append(String(format: "  package accounted: %.3f GB in %d folders, sha256 %@", Double(s.package.bytes) / 1e9, s.package.folders.count, s.package.sha256))
        return lines.joined(separator: "\n")
    }
}
