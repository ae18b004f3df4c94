import Foundation

/// Runs one task on a worker: the step itself, then its outputs written into the staging folder
/// (temp -> fsync -> rename), each identified by size and SHA-256.
public struct StepExecutor: Sendable {
    public let source: TensorRowSource
    public let stagingFolder: String

    public init(source: TensorRowSource, stagingFolder: String) {
        self.source = source
        self.stagingFolder = stagingFolder
        BLASThreads.useOne()
    }

    public func execute(_ task: TaskSpec) throws -> TaskOutcome {
        let start = Date()
        var outcome = TaskOutcome(taskId: task.id, outputs: [], seconds: 0)
        switch task.kind {
        case .measure:
            outcome.measurements = try MeasureStep.run(task.measure!, source: source)
        case .analyze:
            outcome.analysis = try AnalyzeStep.run(task.analyze!, source: source)
        case .quantize:
            let out = try QuantizeStep.run(task.quantize!, source: source)
            outcome.tile = out.result
            outcome.outputs.append(try store(out.tile, as: StagingNames.tile(task.tensorIndex, task.tile!)))
        case .compensate:
            let spec = task.compensate!
            let out = try CompensateStep.run(spec, source: source) { k in
                let f = try SafetensorsFile(path: stagingFolder + "/" + StagingNames.tile(task.tensorIndex, k))
                return try SafetensorsWriter.decode(f)
            }
            outcome.compensation = out.result
            outcome.outputs.append(try store(out.arrays, as: StagingNames.lowRank(task.tensorIndex)))
        }
        outcome.seconds = Date().timeIntervalSince(start)
        return outcome
    }

    func store(_ bytes: [UInt8], as name: String) throws -> TaskOutputFile {
        let path = stagingFolder + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let sha = try AtomicFileWriter.write(bytes, to: path)
        return TaskOutputFile(name: name, size: bytes.count, sha256: sha)
    }
}
