import Foundation
import Engine
import Pipeline
import UQCITProtocol
#if canImport(Glibc)
import Glibc
#endif

public struct SimulationOptions: Sendable {
    public var model: String
    public var out: String
    public var profile: Profile
    public var farm: FarmModel
    public var heartbeat: HeartbeatSettings
    public var backupTasks: Bool
    /// SIGKILLs this process once this share of the tasks is done, as a crash would: the next run resumes.
    public var crashAtFraction: Double?
    public var progress: Bool

    public init(model: String, out: String, profile: Profile, farm: FarmModel, heartbeat: HeartbeatSettings = .init(),
                backupTasks: Bool = false, crashAtFraction: Double? = nil, progress: Bool = true) {
        self.model = model; self.out = out; self.profile = profile; self.farm = farm; self.heartbeat = heartbeat
        self.backupTasks = backupTasks; self.crashAtFraction = crashAtFraction; self.progress = progress
    }
}

/// What a simulated job measured. Every figure comes from this run's clocks and counters.
public struct SimulationSummary: Codable, Sendable {
    public var model: String
    public var workers: Int
    public var tasks: Int
    /// Tasks the journal showed done when this run started (a resume).
    public var resumedTasks: Int
    /// Tasks done at the end, resumed ones included.
    public var tasksDone: Int
    public var seconds: Double
    public var planSeconds: Double
    /// Reading and replaying the journal, until the broker could lease again.
    public var resumeSeconds: Double
    public var processCPUSeconds: Double
    /// The process's CPU time less the simulated farm's threads: the coordinator's own.
    public var coordinatorCPUSeconds: Double
    public var coordinatorCPUPerWall: Double
    public var peakRSSBytes: Int
    /// Messages into and out of the broker (counted at the workers' sockets).
    public var brokerMessages: Int
    public var brokerMessagesPerSecond: Double
    public var journalBytes: Int
    public var resultsSent: Int
    public var workersKilled: Int
    public var workersDeclaredDead: Int
    /// From the moment the killed workers fell silent until the last of them was declared dead.
    public var detectionSeconds: Double?
    public var tasksRequeued: Int
    public var backupLeases: Int
    public var backupWins: Int
    public var backupResultsIgnored: Int
    /// Seconds from the first result that took the tasks run here to 99% to the last result.
    public var tailSeconds: Double?
    public var package: PackageAccounting
}

/// `coordinator simulate`: the real planner, scheduler, broker loop, journal and resume, with `SimulatedFarm`
/// workers in this process in place of real ones and package accounting in place of the assembler. The
/// broker runs with `StagedOutputs.accounted`: result fields are validated as always, staged files are not
/// hashed because none are written. Workers live and die with the process, so a crash and restart resumes the
/// coordinator and starts a fresh farm, as a real farm's workers would reconnect.
public enum SimulatedJob {
    public static func run(_ o: SimulationOptions, log: ClusterLog = .standardError) throws -> SimulationSummary {
        let started = Date()
        let model = try o.farm.validated()
        let source = try ModelSources.open(o.model)
        let plan = try JobPlan(source: source, profile: o.profile)
        guard !plan.needsAllocation else {
            throw JobError.invalid("profile \(o.profile.name) allocates bits from measurements; simulate runs profiles with fixed policies")
        }
        let planSeconds = Date().timeIntervalSince(started)
        let out = OutputFolder(path: o.out)
        _ = try out.claim(OutputFolder.JobIdentity(sourceFingerprint: plan.sourceFingerprint, profileHash: o.profile.hash, layers: nil))
        let lock = try OutputFolderLock(out)
        defer { withExtendedLifetime(lock) {} }
        out.removeStrayTemporaries()

        let resumeStarted = Date()
        let scheduler = try JobScheduler(plan: plan)
        let resume = try ResumeState.replay(journal: out.journalFile, plan: plan, scheduler: scheduler, out: out, layers: nil, outputs: .accounted, log: log)
        let journal = try Journal(path: out.journalFile, intactBytes: resume.intactBytes)
        if resume.records == 0 {
            try journal.append(.plan(sourceFingerprint: plan.sourceFingerprint, profileHash: o.profile.hash, layers: nil, tasks: plan.taskCount))
        } else {
            try journal.append(.resume(skippedTasks: resume.restoredTasks, skippedFolders: resume.assembledFolders.count))
            log("resuming \(o.out): \(resume.restoredTasks) of \(plan.taskCount) tasks already done (skipped)")
        }
        let resumeSeconds = Date().timeIntervalSince(resumeStarted)

        var cluster = ClusterOptions(heartbeat: o.heartbeat)
        cluster.backupTasks = o.backupTasks
        cluster.stagedOutputs = .accounted
        let context = try ZMQContext(maxSockets: Int32(model.workers + 64))
        let wire = JobWire(jobID: String(Digest.sha256Hex(Array("simulated|\(plan.sourceFingerprint)|\(o.profile.hash)".utf8)).prefix(16)),
                           coordinatorName: "simulated-coordinator", stagingDir: CompressionJob.absolute(out.stagingFolder),
                           sourceDir: source.location)
        let broker = try Broker(context: context, options: cluster, wire: wire, journal: journal, log: log)
        let farmStarted = Date()
        let farm = SimulatedFarm(model: model, context: context, endpoint: broker.inprocEndpoint, log: log)
        let progress = ProgressReporter(totalTensors: plan.assignments.count, totalFolders: plan.folders.count,
                                        totalParameters: plan.quantizedParameters, enabled: o.progress)
        var accounted: [String: TaskOutputFile] = [:]
        do {
            try broker.run(scheduler, folderReady: { folder, results in
                if let f = resume.assembledFiles[folder]?.first {
                    accounted[folder] = f
                } else {
                    let f = PackageAccounting.account(folder: folder, plan: plan, results: results)
                    try journal.append(.folder(name: folder, files: [f], reports: []))
                    accounted[folder] = f
                }
                progress.foldersDone = accounted.count
            }, tick: { p in
                progress.update(p)
                if let f = o.crashAtFraction, Double(p.tasksDone) >= f * Double(p.tasksTotal) {
                    log("simulated crash: SIGKILL at \(p.tasksDone) of \(p.tasksTotal) tasks done")
                    kill(getpid(), SIGKILL)
                }
            })
        } catch {
            _ = farm.stopAndWait()
            throw error
        }
        let report = farm.stopAndWait()
        progress.update(scheduler.progress, force: true)
        try journal.append(.final)
        let seconds = Date().timeIntervalSince(started)

        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let counters = broker.counters
        let farmSeconds = Date().timeIntervalSince(farmStarted)
        var detection: Double?
        if let killed = report.killedAt, let dead = counters.lastSilenceDeath { detection = dead.timeIntervalSince(farmStarted) - killed }
        let messages = report.messagesSent + report.messagesReceived
        let coordinatorCPU = cpu - report.cpuSeconds
        return SimulationSummary(
            model: o.model, workers: model.workers, tasks: plan.taskCount, resumedTasks: resume.restoredTasks,
            tasksDone: scheduler.completedTasks, seconds: seconds, planSeconds: planSeconds, resumeSeconds: resumeSeconds,
            processCPUSeconds: cpu, coordinatorCPUSeconds: coordinatorCPU, coordinatorCPUPerWall: coordinatorCPU / seconds,
            peakRSSBytes: usage.ru_maxrss * 1024, brokerMessages: messages, brokerMessagesPerSecond: Double(messages) / farmSeconds,
            journalBytes: (try? FileManager.default.attributesOfItem(atPath: out.journalFile)[.size] as? Int) ?? 0,
            resultsSent: report.resultsSent, workersKilled: report.workersKilled,
            workersDeclaredDead: counters.silentWorkersDeclaredDead, detectionSeconds: detection,
            tasksRequeued: counters.tasksRequeued, backupLeases: counters.backupLeases, backupWins: counters.backupWins,
            backupResultsIgnored: counters.backupResultsIgnored, tailSeconds: tail(report.firstResults),
            package: try PackageAccounting(plan: plan, accounted: accounted))
    }

    /// Seconds from the result that brought the tasks run to 99% to the last one.
    static func tail(_ firstResults: [String: Double]) -> Double? {
        let times = firstResults.values.sorted()
        guard let last = times.last else { return nil }
        let k = Int((Double(times.count) * 0.99).rounded(.up)) - 1
        return last - times[max(0, k)]
    }
}
