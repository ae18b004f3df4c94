/// A calibrated profile's data settings (GPTQ): how the calibration text is cut into sequences, how the
/// sequences are grouped into the shards that CAPTURE and PROPAGATE tasks run over, and the rounding's options.
/// The text itself comes from `--calibration FILE`; its digest is part of the job's identity.
public struct CalibrationSettings: Codable, Sendable, Equatable {
    /// Tokens per calibration sequence (at most the model's max_position_embeddings).
    public var sequenceLength: Int
    /// At most this many sequences: fewer when the text or `--calibration-tokens` runs out first.
    public var sequences: Int
    /// Sequences per CAPTURE / PROPAGATE task: a worker holds one shard's activations, never all of them.
    public var shardSequences: Int
    /// Added to H's diagonal as this fraction of its mean diagonal.
    public var damping: Double
    /// GPTQ's lazy-batch width in columns.
    public var blockSize: Int
    /// Quantize columns by decreasing H_ii with static groups.
    public var actOrder: Bool
    /// GPTQ (the default), or round to nearest under diag(H) (`diagonal_importance`): the cheap baseline.
    public var rounding: CalibratedRounding?

    enum CodingKeys: String, CodingKey {
        case sequences, damping, rounding
        case sequenceLength = "sequence_length", shardSequences = "shard_sequences", blockSize = "block_size", actOrder = "act_order"
    }

    public init(sequenceLength: Int, sequences: Int, shardSequences: Int, damping: Double = 0.01, blockSize: Int = 128, actOrder: Bool = true,
                rounding: CalibratedRounding? = nil) {
        self.sequenceLength = sequenceLength
        self.sequences = sequences
        self.shardSequences = shardSequences
        self.damping = damping
        self.blockSize = blockSize
        self.actOrder = actOrder
        self.rounding = rounding
    }

    /// What a GGUF profile (no calibration block of its own) runs with `--calibration`: GPTQ over whole ggml
    /// grids (GGMLGPTQ), in column order since a block's columns must stay together.
    public static let ggufDefault = CalibrationSettings(sequenceLength: 512, sequences: 128, shardSequences: 8, damping: 0.01,
                                                        blockSize: 128, actOrder: false, rounding: .gptq)

    /// The first setting that cannot work, as a sentence naming the profile key.
    public func problem() -> String? {
        if sequenceLength < 2 { return "calibration.sequence_length is \(sequenceLength), at least 2 is needed" }
        if sequences < 1 { return "calibration.sequences is \(sequences), at least 1 is needed" }
        if shardSequences < 1 { return "calibration.shard_sequences is \(shardSequences), at least 1 is needed" }
        if !damping.isFinite || damping < 0 { return "calibration.damping is \(damping), a finite value >= 0 is needed" }
        if blockSize < 1 { return "calibration.block_size is \(blockSize), at least 1 is needed" }
        return nil
    }
}

/// How a calibrated tile is rounded against its H.
public enum CalibratedRounding: String, Codable, Sendable {
    /// GPTQ: each column's rounding error spread over the columns not yet rounded, through H⁻¹.
    case gptq
    /// Round to nearest with each group's scale searched under the columns' H_ii (what an importance matrix is).
    case diagonalImportance = "diagonal_importance"
}
