/// The serializable inputs and outputs of the per-tensor and per-tile steps. A coordinator sends a spec,
/// a worker (in-process or remote) runs the step and returns the result; nothing else crosses between them.

public struct AnalyzeSpec: Codable, Sendable, Equatable {
    public var tensor: CheckpointTensor
    public var policy: LevelPolicy
    public var granularity: Granularity
    public var rotation: RotationSettings
    public var clusters: ClusterSettings
    public var tileRows: Int

    public init(tensor: CheckpointTensor, policy: LevelPolicy, granularity: Granularity, rotation: RotationSettings, clusters: ClusterSettings, tileRows: Int) {
        self.tensor = tensor
        self.policy = policy
        self.granularity = granularity
        self.rotation = rotation
        self.clusters = clusters
        self.tileRows = tileRows
    }
}

/// One scored sign seed of the rotation search.
public struct SeedTrial: Codable, Sendable, Equatable {
    public var seed: UInt64
    public var relativeError: Double

    public init(seed: UInt64, relativeError: Double) {
        self.seed = seed
        self.relativeError = relativeError
    }
}

public struct AnalysisResult: Codable, Sendable, Equatable {
    public var rotation: RotationDescriptor
    public var invariants: RotationInvariants?
    public var seedTrials: [SeedTrial]
    /// Relative error of the low format on the sample rows without any rotation: the search's reference point.
    public var unrotatedError: Double
    /// Channel granularity: input columns (in the rotated basis) kept in the high format, ascending.
    public var highColumns: [Int]
    /// Element granularity: elements whose |w| (rotated basis) exceeds this go to the sparse high part.
    public var elementThreshold: Float?
    /// Correlated-column clusters (the design's GHZ clusters), each ascending, only clusters of 2 or more.
    public var clusters: [[Int]]
    /// Columns moved into the high share because a cluster member was there.
    public var promotedColumns: Int
    public var plannedHighFraction: Double
    public var realisedHighFraction: Double

    public init(rotation: RotationDescriptor, invariants: RotationInvariants? = nil, seedTrials: [SeedTrial], unrotatedError: Double, highColumns: [Int], elementThreshold: Float? = nil, clusters: [[Int]], promotedColumns: Int, plannedHighFraction: Double, realisedHighFraction: Double) {
        self.rotation = rotation
        self.invariants = invariants
        self.seedTrials = seedTrials
        self.unrotatedError = unrotatedError
        self.highColumns = highColumns
        self.elementThreshold = elementThreshold
        self.clusters = clusters
        self.promotedColumns = promotedColumns
        self.plannedHighFraction = plannedHighFraction
        self.realisedHighFraction = realisedHighFraction
    }
}

public struct QuantizeSpec: Codable, Sendable, Equatable {
    public var tensor: CheckpointTensor
    public var policy: LevelPolicy
    public var granularity: Granularity
    public var analysis: AnalysisResult
    public var rowStart: Int
    public var rowCount: Int
    /// One importance weight per input column (an importance matrix's mean squares) for the ggml searches; nil
    /// fits unweighted.
    public var columnImportance: [Float]?
    /// Calibrated tiles: rounded by GPTQ against this H instead of to nearest.
    public var hessian: HessianInput?

    public init(tensor: CheckpointTensor, policy: LevelPolicy, granularity: Granularity, analysis: AnalysisResult, rowStart: Int, rowCount: Int,
                columnImportance: [Float]? = nil, hessian: HessianInput? = nil) {
        self.tensor = tensor
        self.policy = policy
        self.granularity = granularity
        self.analysis = analysis
        self.rowStart = rowStart
        self.rowCount = rowCount
        self.columnImportance = columnImportance
        self.hessian = hessian
    }
}

public struct TileResult: Codable, Sendable, Equatable {
    public var sourceSumSquares: Double
    public var errorSumSquares: Double
    public var maxAbsError: Float
    public var highElements: Int
    public var elements: Int

    public init(sourceSumSquares: Double, errorSumSquares: Double, maxAbsError: Float, highElements: Int, elements: Int) {
        self.sourceSumSquares = sourceSumSquares
        self.errorSumSquares = errorSumSquares
        self.maxAbsError = maxAbsError
        self.highElements = highElements
        self.elements = elements
    }
}

public struct CompensateSpec: Codable, Sendable, Equatable {
    public var tensor: CheckpointTensor
    public var rank: Int
    public var tileRows: Int
    public var layout: QuantizedTensorLayout

    public init(tensor: CheckpointTensor, rank: Int, tileRows: Int, layout: QuantizedTensorLayout) {
        self.tensor = tensor
        self.rank = rank
        self.tileRows = tileRows
        self.layout = layout
    }
}

public struct CompensationResult: Codable, Sendable, Equatable {
    public var rank: Int
    public var sourceSumSquares: Double
    public var errorSumSquaresBefore: Double
    public var errorSumSquaresAfter: Double

    public init(rank: Int, sourceSumSquares: Double, errorSumSquaresBefore: Double, errorSumSquaresAfter: Double) {
        self.rank = rank
        self.sourceSumSquares = sourceSumSquares
        self.errorSumSquaresBefore = errorSumSquaresBefore
        self.errorSumSquaresAfter = errorSumSquaresAfter
    }
}
