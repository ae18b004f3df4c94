/// The unit of work a coordinator hands to a worker. Specs are plain values, so the same task runs in-process
/// or on another machine (as the typed TaskAssignment of proto/uqcit/v2/messages.proto, converted in Pipeline's
/// WireConversion*.swift).
public enum TaskKind: String, Codable, Sendable {
    case measure, analyze, quantize, compensate
    /// Calibrated jobs, per decoder block and shard of calibration sequences: CAPTURE runs the block with its
    /// source weights and stages H = XᵀX of each linear's input; PROPAGATE runs it with its quantized weights and
    /// stages the next block's input.
    case capture, propagate
}

public struct TaskSpec: Codable, Sendable, Equatable {
    public var id: String
    public var kind: TaskKind
    public var tensorIndex: Int
    public var tile: Int?
    public var analyze: AnalyzeSpec?
    public var quantize: QuantizeSpec?
    public var compensate: CompensateSpec?
    public var measure: MeasureSpec?
    public var layerPass: LayerPassSpec?

    public static func measureTask(_ i: Int, _ s: MeasureSpec) -> TaskSpec {
        TaskSpec(id: "M\(i)", kind: .measure, tensorIndex: i, tile: nil, measure: s)
    }
    public static func analyzeTask(_ i: Int, _ s: AnalyzeSpec) -> TaskSpec {
        TaskSpec(id: "A\(i)", kind: .analyze, tensorIndex: i, tile: nil, analyze: s)
    }
    public static func quantizeTask(_ i: Int, tile: Int, _ s: QuantizeSpec) -> TaskSpec {
        TaskSpec(id: "Q\(i).\(tile)", kind: .quantize, tensorIndex: i, tile: tile, quantize: s)
    }
    public static func compensateTask(_ i: Int, _ s: CompensateSpec) -> TaskSpec {
        TaskSpec(id: "C\(i)", kind: .compensate, tensorIndex: i, tile: nil, compensate: s)
    }
    /// `anchor`: a calibrated tensor of the block (its first), so the task belongs to the block's folder.
    public static func captureTask(anchor: Int, _ s: LayerPassSpec) -> TaskSpec {
        TaskSpec(id: "K\(s.layer).\(s.shard)", kind: .capture, tensorIndex: anchor, tile: nil, layerPass: s)
    }
    public static func propagateTask(anchor: Int, _ s: LayerPassSpec) -> TaskSpec {
        TaskSpec(id: "P\(s.layer).\(s.shard)", kind: .propagate, tensorIndex: anchor, tile: nil, layerPass: s)
    }
}

/// A file a task produced, named relative to the job's staging folder; or, in a FOLDER record, a package file,
/// named relative to the package.
public struct TaskOutputFile: Codable, Sendable, Equatable {
    public var name: String
    public var size: Int
    /// The file's SHA-256; for a file recorded by `segments`, `FileSegments.listDigest` of them.
    public var sha256: String
    /// Only a package file the assembler copied verified tiles into (never a worker's output): what a resume
    /// checks instead of one digest of the whole (`FileSegments`).
    public var segments: [FileSegment]?

    public init(name: String, size: Int, sha256: String, segments: [FileSegment]? = nil) {
        self.name = name
        self.size = size
        self.sha256 = sha256
        self.segments = segments
    }
}

public struct TaskOutcome: Codable, Sendable, Equatable {
    public var taskId: String
    public var analysis: AnalysisResult?
    public var tile: TileResult?
    public var compensation: CompensationResult?
    public var measurements: [CandidateMeasurement]?
    public var layerPass: LayerPassResult?
    public var outputs: [TaskOutputFile]
    public var seconds: Double

    public init(taskId: String, analysis: AnalysisResult? = nil, tile: TileResult? = nil, compensation: CompensationResult? = nil,
                measurements: [CandidateMeasurement]? = nil, layerPass: LayerPassResult? = nil, outputs: [TaskOutputFile], seconds: Double) {
        self.taskId = taskId
        self.analysis = analysis
        self.tile = tile
        self.compensation = compensation
        self.measurements = measurements
        self.layerPass = layerPass
        self.outputs = outputs
        self.seconds = seconds
    }
}

/// Where tile and compensation files live while a job runs: `<out>/.uqcit/staging/t<index>/...`; a calibrated
/// job's activations and second moments under `calibration/layer_<l>/`, removed when block l is assembled.
public enum StagingNames {
    public static func tile(_ tensorIndex: Int, _ tile: Int) -> String { "t\(tensorIndex)/tile_\(tile).st" }
    public static func lowRank(_ tensorIndex: Int) -> String { "t\(tensorIndex)/lowrank.st" }
    /// What block `layer` reads: its input X and its H.
    public static func calibrationFolder(layer: Int) -> String { "calibration/layer_\(layer)" }
    /// X_l of one shard: the input of block `layer`, written by PROPAGATE of block layer - 1.
    public static func hidden(layer: Int, shard: Int) -> String { calibrationFolder(layer: layer) + "/x_\(shard).st" }
    /// H of one input space of block `layer`, summed over one shard's tokens, written by its CAPTURE.
    public static func hessian(layer: Int, shard: Int, space: HessianSpace) -> String {
        calibrationFolder(layer: layer) + "/h_\(space.rawValue)_\(shard).st"
    }
}
