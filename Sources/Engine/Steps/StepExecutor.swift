import Foundation

/// Runs one task on a worker: the step itself, then its outputs written into the staging folder
/// (temp -> fsync -> rename), each identified by size and SHA-256.
public struct StepExecutor: Sendable {
    public let source: TensorRowSource
    public let stagingFolder: String
    /// Runs CAPTURE and PROPAGATE; a worker without one refuses them.
    public let layerPasses: LayerPassRunner?
    /// An embedded worker's: where its tiles are also left for the assembler in the same process.
    public let handoff: TileHandoff?

    public init(source: TensorRowSource, stagingFolder: String, layerPasses: LayerPassRunner? = nil, handoff: TileHandoff? = nil) {
        self.source = source
        self.stagingFolder = stagingFolder
        self.layerPasses = layerPasses
        self.handoff = handoff
        BLASThreads.useOne()
    }

    public func execute(_ task: TaskSpec) throws -> TaskOutcome {
        let start = Date()
        var outcome = TaskOutcome(taskId: task.id, outputs: [], seconds: 0)
        switch task.kind {
        case .measure:
            outcome.measurements = try MeasureStep.run(task.measure!, source: source, stagingFolder: stagingFolder)
        case .analyze:
            outcome.analysis = try AnalyzeStep.run(task.analyze!, source: source)
        case .quantize:
            let out = try QuantizeStep.run(task.quantize!, source: source, stagingFolder: stagingFolder)
            outcome.tile = out.result
            let staged = try store(out.tile, as: StagingNames.tile(task.tensorIndex, task.tile!))
            // Only ggml tiles (one array each) are copied whole by the assembler; others it reads array by array.
            if task.quantize!.policy.ggml != nil { handoff?.offer(staged.name, sha256: staged.sha256, bytes: out.tile) }
            outcome.outputs.append(staged)
        case .compensate:
            let spec = task.compensate!
            let out = try CompensateStep.run(spec, source: source) { k in
                let f = try SafetensorsFile(path: stagingFolder + "/" + StagingNames.tile(task.tensorIndex, k))
                return try SafetensorsWriter.decode(f)
            }
            outcome.compensation = out.result
            outcome.outputs.append(try store(out.arrays, as: StagingNames.lowRank(task.tensorIndex)))
        case .capture, .propagate:
            guard let layerPasses else { throw CalibrationError.unsupported("task \(task.id): this worker has no forward pass for layer passes") }
            let out = try layerPasses.run(task.kind, task.layerPass!, source: source, stagingFolder: stagingFolder)
            outcome.layerPass = out.result
            for f in out.files { outcome.outputs.append(try store(f.bytes, as: f.name)) }
        }
        outcome.seconds = Date().timeIntervalSince(start)
        return outcome
    }

    func store(_ bytes: [UInt8], as name: String) throws -> TaskOutputFile {
        try bytes.withUnsafeBytes { try store($0, as: name) }
    }

    func store(_ bytes: AlignedBytes, as name: String) throws -> TaskOutputFile {
        try bytes.withUnsafeBytes { try store($0, as: name) }
    }

    /// Past the page cache: a staged file is read once, by the assembler or the transfer to the coordinator.
    private func store(_ bytes: UnsafeRawBufferPointer, as name: String) throws -> TaskOutputFile {
        let path = stagingFolder + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let sha = try AtomicFileWriter.write(bytes, to: path, uncached: true)
        return TaskOutputFile(name: name, size: bytes.count, sha256: sha)
    }
}
