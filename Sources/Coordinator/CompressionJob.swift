import Foundation
import Engine
import Pipeline
import UQCITProtocol

public struct JobOptions: Sendable {
    public var model: String
    public var out: String
    public var profile: Profile
    /// Embedded workers: threads of this process that speak the cluster protocol over inproc://. 0 for none.
    public var workers: Int
    public var layers: ClosedRange<Int>?
    public var progress: Bool
    public var cluster: ClusterOptions
    /// Required by a profile that allocates bits (auto): turns MEASURE results into per-tensor policies.
    public var allocation: BitAllocation?
    /// llama-imatrix's output: per-column weights for the ggml searches (GGUF profiles only).
    public var importanceMatrix: ImportanceMatrix?
    /// Required by a calibrated profile (gptq-*, importance-*), taken by a GGUF profile (gguf-*), refused by any other.
    public var calibration: CalibrationText?
    /// Bytes of embedded workers' tiles the assembler may take from memory instead of reading them back (`TileHandoff`);
    /// 0 for none.
    public var handoffBytes: Int

    public init(model: String, out: String, profile: Profile, workers: Int, layers: ClosedRange<Int>? = nil, progress: Bool = true,
                cluster: ClusterOptions = .init(), allocation: BitAllocation? = nil, importanceMatrix: ImportanceMatrix? = nil,
                calibration: CalibrationText? = nil, handoffBytes: Int = TileHandoff.defaultBudget) {
        self.model = model; self.out = out; self.profile = profile; self.workers = workers; self.layers = layers; self.progress = progress
        self.cluster = cluster
        self.allocation = allocation
        self.importanceMatrix = importanceMatrix
        self.calibration = calibration
        self.handoffBytes = handoffBytes
    }
}

public struct JobSummary: Codable, Sendable {
    public var package: String
    public var alreadyComplete: Bool
    public var metadata: PackageMetadata
    public var seconds: Double
    public var tasks: Int
    /// Tasks a resumed job found done in the journal and did not run again.
    public var resumedTasks: Int
}

/// Runs a compression job end to end: plan from headers, hand the tasks to workers through the broker, assemble
/// folders as they complete, then write tokenizer, validation and, last, uqcit_metadata.json. Every commit goes
/// to the journal first, so running the same job again on the same output folder resumes it.
public enum CompressionJob {
    public static let version = "0.1.0"
    /// With a sentence-transformers BERT's modules.json and pooling config: the pooling its GGUF export names.
    static let tokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                                 "merges.txt", "vocab.json", "tokenizer.model", "added_tokens.json", "modules.json", "1_Pooling/config.json"]

    public static func run(_ o: JobOptions, log: ClusterLog = .standardError) throws -> JobSummary {
        let started = Date()
        guard o.workers > 0 || !o.cluster.bind.isEmpty else {
            throw JobError.invalid("no workers: with --workers 0 the coordinator needs --bind for `worker join` to reach it")
        }
        try o.cluster.checkBindPolicy()
        let source = try ModelSources.open(o.model)
        let text = try o.calibration.map { try $0.tokenize(for: source) }
        let plan = try JobPlan(source: source, profile: o.profile, layers: o.layers, importance: o.importanceMatrix,
                               calibration: text.map { ($0.tokens, o.calibration!.file) })
        let out = OutputFolder(path: o.out)
        let layers = o.layers.map { "\($0.lowerBound)..\($0.upperBound)" }
        let identity = OutputFolder.JobIdentity(sourceFingerprint: plan.sourceFingerprint, profileHash: o.profile.hash, layers: layers,
                                                importanceMatrix: o.importanceMatrix?.sha256, calibration: text?.identity)
        if try out.claim(identity) == .complete {
            let meta = try PackageJSON.decode(PackageMetadata.self, from: Array(FileManager.default.contents(atPath: out.metadataFile)!))
            return JobSummary(package: o.out, alreadyComplete: true, metadata: meta, seconds: 0, tasks: plan.taskCount, resumedTasks: plan.taskCount)
        }
        try FileManager.default.createDirectory(atPath: out.stagingFolder, withIntermediateDirectories: true)
        let lock = try OutputFolderLock(out)
        defer { withExtendedLifetime(lock) {} }
        out.removeStrayTemporaries()

        let scheduler = try JobScheduler(plan: plan, maxAttempts: o.cluster.maxAttempts, allocation: o.allocation)
        let resume = try ResumeState.replay(journal: out.journalFile, plan: plan, scheduler: scheduler, out: out, layers: layers, log: log)
        let journal = try Journal(path: out.journalFile, intactBytes: resume.intactBytes)
        if resume.records == 0 {
            try journal.append(.plan(sourceFingerprint: plan.sourceFingerprint, profileHash: o.profile.hash, layers: layers, tasks: plan.taskCount))
        } else {
            try journal.append(.resume(skippedTasks: resume.restoredTasks, skippedFolders: resume.assembledFolders.count))
            log("resuming \(o.out): \(resume.restoredTasks) of \(plan.taskCount) tasks already done (skipped), "
                + "\(resume.assembledFolders.count) of \(plan.folders.count) folders already assembled")
        }

        let context = try ZMQContext()
        let wire = JobWire(jobID: String(Digest.sha256Hex(Array("\(identity.sourceFingerprint)|\(identity.profileHash)|\(layers ?? "")|\(identity.calibration ?? "")".utf8)).prefix(16)),
                           coordinatorName: "coordinator@\(ProcessInfo.processInfo.hostName)",
                           stagingDir: absolute(out.stagingFolder),
                           sourceDir: source is Checkpoint ? absolute(source.location) : source.location)
        let broker = try Broker(context: context, options: o.cluster, wire: wire, journal: journal, log: log)
        for e in broker.boundEndpoints { log("coordinator listening on \(e)" + (o.cluster.curve == nil ? " (no CURVE: loopback or --insecure)" : " (CURVE)")) }
        let handoff = o.workers > 0 && o.handoffBytes > 0 ? TileHandoff(budget: o.handoffBytes) : nil
        let embedded = EmbeddedWorkers(count: o.workers, context: context, endpoint: broker.inprocEndpoint,
                                       heartbeat: o.cluster.heartbeat, source: source, log: log, handoff: handoff)
        defer { embedded.stopAndWait() }

        let assembler = Assembler(plan: plan, source: source, stagingFolder: out.stagingFolder, packageFolder: o.out, handoff: handoff)
        let progress = ProgressReporter(totalTensors: plan.assignments.count, totalFolders: plan.folders.count,
                                        totalParameters: plan.quantizedParameters, enabled: o.progress)
        var reports: [String: [TensorReport]] = [:]
        try broker.run(scheduler, folderReady: { folder, results in
            if let done = resume.assembledFolders[folder] {
                reports[folder] = done
            } else {
                let assembled = try assembler.assemble(folder: folder, results: results)
                reports[folder] = assembled.reports
                try journal.append(.folder(name: folder, files: assembled.files, reports: assembled.reports))
            }
            progress.foldersDone = reports.count
            // The folder's tiles are in its package files now; a resume verifies those instead.
            for (i, a) in plan.assignments.enumerated() where a.folder == folder {
                try? FileManager.default.removeItem(atPath: out.stagingFolder + "/" + (StagingNames.tile(i, 0) as NSString).deletingLastPathComponent)
            }
            // So are the activations and H its blocks read: a calibrated job stages about two blocks' worth at a time.
            for staged in plan.calibration?.stagingFolders(ofPackageFolder: folder, plan: plan) ?? [] {
                try? FileManager.default.removeItem(atPath: out.stagingFolder + "/" + staged)
            }
        }, tick: { progress.update($0) })
        progress.update(scheduler.progress, force: true)
        if let handoff, handoff.takenCount > 0 {
            log(String(format: "%d tiles (%.1f MiB) reached the package from the embedded workers' memory, not read back (--handoff-mb %d)",
                       handoff.takenCount, Double(handoff.takenBytes) / 1_048_576, handoff.budget >> 20))
        }
        let ordered = plan.folders.flatMap { reports[$0] ?? [] }
        let metadata = try finish(o, source: source, plan: scheduler.plan, reports: ordered, out: out)
        try journal.append(.final)
        let seconds = Date().timeIntervalSince(started)
        let run: [String: String] = ["seconds": String(format: "%.3f", seconds), "workers": String(o.workers),
                                     "finished": ISO8601DateFormatter().string(from: Date())]
        try AtomicFileWriter.write(PackageJSON.encode(run), to: out.stateFolder + "/run.json")
        try? FileManager.default.removeItem(atPath: out.stagingFolder)
        return JobSummary(package: o.out, alreadyComplete: false, metadata: metadata, seconds: seconds,
                          tasks: plan.taskCount, resumedTasks: resume.restoredTasks)
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    static func finish(_ o: JobOptions, source: ModelSource, plan: JobPlan, reports: [TensorReport], out: OutputFolder) throws -> PackageMetadata {
        let fm = FileManager.default
        try AtomicFileWriter.write(source.configBytes, to: o.out + "/config.json")
        try fm.createDirectory(atPath: o.out + "/tokenizer", withIntermediateDirectories: true)
        for f in tokenizerFiles {
            if source is Checkpoint, let data = fm.contents(atPath: source.location + "/" + f) {
                try fm.createDirectory(atPath: ((o.out + "/tokenizer/" + f) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try AtomicFileWriter.write(Array(data), to: o.out + "/tokenizer/" + f)
            }
        }
        if let gguf = source as? GGUFSource {
            // A GGUF source's tokenizer is its metadata: carried as it is, for the GGUF export.
            try AtomicFileWriter.write(try gguf.tokenizer.jsonBytes(), to: o.out + "/tokenizer/" + GGUFTokenizer.packageFileName)
        }
        try fm.createDirectory(atPath: o.out + "/validation", withIntermediateDirectories: true)
        try AtomicFileWriter.write(PackageJSON.encode(reports), to: o.out + "/validation/tensors.json")

        var layersBytes = 0
        if let e = fm.enumerator(atPath: o.out + "/layers") {
            for case let rel as String in e {
                let attrs = try fm.attributesOfItem(atPath: o.out + "/layers/" + rel)
                if (attrs[.type] as? FileAttributeType) == .typeRegular { layersBytes += (attrs[.size] as? Int) ?? 0 }
            }
        }
        var measured = PackageMetadata.summarise(reports, layersFolderBytes: layersBytes)
        let sourceBytes = plan.assignments.reduce(0) { $0 + $1.tensor.entry.end - $1.tensor.entry.begin }
        measured.compressionRatioVsSource = Double(sourceBytes) / Double(max(layersBytes, 1))
        let meta = PackageMetadata(
            format: PackageMetadata.formatName, uqcitVersion: version,
            source: .init(name: URL(fileURLWithPath: source.location).lastPathComponent, modelType: source.modelType,
                          architectures: source.architectures, parameters: plan.totalParameters, bytes: sourceBytes,
                          fingerprint: plan.sourceFingerprint, layers: o.layers.map { "\($0.lowerBound)..\($0.upperBound)" }),
            profile: .init(name: o.profile.name, sha256: o.profile.hash, settings: plan.profile),
            measured: measured)
        try AtomicFileWriter.write(PackageJSON.encode(meta), to: out.metadataFile)
        return meta
    }
}
