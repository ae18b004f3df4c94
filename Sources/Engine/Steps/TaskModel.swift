/// The unit of work a coordinator hands to a worker. Specs are plain values, so the same task runs in-process
/// or on another machine (as the typed TaskAssignment of proto/uqcit/v2/messages.proto, converted in Pipeline's
/// WireConversion*.swift).
public enum TaskKind: String, Codable, Sendable {
    case measure, analyze, quantize, compensate
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
}

/// A file a task produced, named relative to the job's staging folder.
public struct TaskOutputFile: Codable, Sendable, Equatable {
    public var name: String
    public var size: Int
    public var sha256: String

    public init(name: String, size: Int, sha256: String) {
        self.name = name
        self.size = size
        self.sha256 = sha256
    }
}

public struct TaskOutcome: Codable, Sendable, Equatable {
    public var taskId: String
    public var analysis: AnalysisResult?
    public var tile: TileResult?
    public var compensation: CompensationResult?
    public var measurements: [CandidateMeasurement]?
    public var outputs: [TaskOutputFile]
    public var seconds: Double

    public init(taskId: String, analysis: AnalysisResult? = nil, tile: TileResult? = nil, compensation: CompensationResult? = nil,
                measurements: [CandidateMeasurement]? = nil, outputs: [TaskOutputFile], seconds: Double) {
        self.taskId = taskId
        self.analysis = analysis
        self.tile = tile
        self.compensation = compensation
        self.measurements = measurements
        self.outputs = outputs
        self.seconds = seconds
    }
}

/// Where tile and compensation files live while a job runs: `<out>/.uqcit/staging/t<index>/...`.
public enum StagingNames {
    public static func tile(_ tensorIndex: Int, _ tile: Int) -> String { "t\(tensorIndex)/tile_\(tile).st" }
    public static func lowRank(_ tensorIndex: Int) -> String { "t\(tensorIndex)/lowrank.st" }
}
