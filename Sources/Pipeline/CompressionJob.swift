import Foundation
import Engine

public struct JobOptions: Sendable {
    public var model: String
    public var out: String
    public var profile: Profile
    public var workers: Int
    public var layers: ClosedRange<Int>?
    public var progress: Bool

    public init(model: String, out: String, profile: Profile, workers: Int, layers: ClosedRange<Int>? = nil, progress: Bool = true) {
        self.model = model; self.out = out; self.profile = profile; self.workers = workers; self.layers = layers; self.progress = progress
    }
}

public struct JobSummary: Codable, Sendable {
    public var package: String
    public var alreadyComplete: Bool
    public var metadata: PackageMetadata
    public var seconds: Double
}

/// Runs a compression job end to end: plan from headers, run the tasks on a worker pool, assemble folders
/// as they complete, then write tokenizer, validation and, last, uqcit_metadata.json.
public enum CompressionJob {
    public static let version = "0.1.0"
    static let tokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                                 "merges.txt", "vocab.json", "tokenizer.model", "added_tokens.json"]

    public static func run(_ o: JobOptions, source: (TensorRowSource & Sendable)? = nil,
                           pool makePool: ((StepExecutor) -> WorkerPool)? = nil) throws -> JobSummary {
        let started = Date()
        let checkpoint = try Checkpoint(folder: o.model)
        let src: TensorRowSource = source ?? checkpoint
        let plan = try JobPlan(checkpoint: checkpoint, profile: o.profile, layers: o.layers)
        let out = OutputFolder(path: o.out)
        let identity = OutputFolder.JobIdentity(sourceFingerprint: plan.sourceFingerprint, profileHash: o.profile.hash,
                                                layers: o.layers.map { "\($0.lowerBound)..\($0.upperBound)" })
        if try out.claim(identity) == .complete {
            let meta = try PackageJSON.decode(PackageMetadata.self, from: Array(FileManager.default.contents(atPath: out.metadataFile)!))
            return JobSummary(package: o.out, alreadyComplete: true, metadata: meta, seconds: 0)
        }
        try FileManager.default.createDirectory(atPath: out.stagingFolder, withIntermediateDirectories: true)

        let executor = StepExecutor(source: src, stagingFolder: out.stagingFolder)
        let pool = makePool?(executor) ?? LocalWorkerPool(workers: o.workers, executor: executor)
        let scheduler = JobScheduler(plan: plan)
        let assembler = Assembler(plan: plan, source: src, stagingFolder: out.stagingFolder, packageFolder: o.out)
        let progress = ProgressReporter(totalTensors: plan.assignments.count, totalParameters: plan.quantizedParameters, enabled: o.progress)
        var reports: [String: [TensorReport]] = [:]
        try pool.run(scheduler, folderReady: { folder in
            reports[folder] = try assembler.assemble(folder: folder, scheduler: scheduler)
        }, tick: {
            progress.update(tensorsDone: scheduler.tensorsDone, parametersDone: scheduler.parametersDone)
        })
        progress.update(tensorsDone: scheduler.tensorsDone, parametersDone: scheduler.parametersDone, force: true)
        let ordered = plan.folders.flatMap { reports[$0] ?? [] }
        let metadata = try finish(o, checkpoint: checkpoint, plan: plan, reports: ordered, out: out)
        let seconds = Date().timeIntervalSince(started)
        let run: [String: String] = ["seconds": String(format: "%.3f", seconds), "workers": String(o.workers),
                                     "finished": ISO8601DateFormatter().string(from: Date())]
        try AtomicFileWriter.write(PackageJSON.encode(run), to: out.stateFolder + "/run.json")
        try? FileManager.default.removeItem(atPath: out.stagingFolder)
        return JobSummary(package: o.out, alreadyComplete: false, metadata: metadata, seconds: seconds)
    }

    static func finish(_ o: JobOptions, checkpoint: Checkpoint, plan: JobPlan, reports: [TensorReport], out: OutputFolder) throws -> PackageMetadata {
        let fm = FileManager.default
        try AtomicFileWriter.write(checkpoint.configBytes, to: o.out + "/config.json")
        try fm.createDirectory(atPath: o.out + "/tokenizer", withIntermediateDirectories: true)
        for f in tokenizerFiles {
            if let data = fm.contents(atPath: checkpoint.folder + "/" + f) {
                try AtomicFileWriter.write(Array(data), to: o.out + "/tokenizer/" + f)
            }
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
            source: .init(name: URL(fileURLWithPath: checkpoint.folder).lastPathComponent, modelType: checkpoint.modelType,
                          architectures: checkpoint.architectures, parameters: plan.totalParameters, bytes: sourceBytes,
                          fingerprint: plan.sourceFingerprint, layers: o.layers.map { "\($0.lowerBound)..\($0.upperBound)" }),
            profile: .init(name: o.profile.name, sha256: o.profile.hash, settings: o.profile),
            measured: measured)
        try AtomicFileWriter.write(PackageJSON.encode(meta), to: out.metadataFile)
        return meta
    }
}
