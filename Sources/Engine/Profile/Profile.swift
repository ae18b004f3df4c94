import Foundation

/// How columns or elements are chosen for the high-precision share of a tensor.
public enum Granularity: String, Codable, Sendable {
    /// Whole input columns: negligible index cost and kernels that stay dense.
    case channel
    /// Scattered elements kept as sparse outliers beside a dense low-precision matrix (as SqueezeLLM).
    case element
}

/// The precision policy of one level: the design's binary concentration patterns (10-90, 30-70, 46-54).
public struct LevelPolicy: Codable, Sendable, Equatable {
    public var pattern: String            // label, e.g. "10-90"
    public var high: QuantFormat
    public var low: QuantFormat
    public var highFraction: Double       // share of columns (or elements) in the high format
    public var highGroupSize: Int?        // defaults to the format's group size
    public var lowGroupSize: Int?
    public var compensationRank: Int      // rank of the low-rank residual correction; 0 disables
    public var symmetricLow: Bool?        // override the low format's symmetry (uniform baselines use symmetric int4)
    /// How the high share is chosen: by importance (default), or "random" (a seeded draw of the same share:
    /// the ablation that keeps the bits and drops the concentration on important channels).
    public var allocation: String?
    /// Store the whole tensor in this ggml block format instead of the high and low shares (GGUF profiles):
    /// rows of llama.cpp blocks, exported to GGUF as they are.
    public var ggml: GGMLType?
    /// How the codes inside those blocks are chosen (default: our search).
    public var ggmlCodes: GGMLCodeChoice?

    enum CodingKeys: String, CodingKey {
        case pattern, high, low, ggml, ggmlCodes = "ggml_codes"
        case highFraction = "high_fraction", highGroupSize = "high_group_size", lowGroupSize = "low_group_size"
        case compensationRank = "compensation_rank", symmetricLow = "symmetric_low", allocation
    }

    /// A whole tensor in one ggml type: no high share, no compensation.
    public static func ggml(_ type: GGMLType, codes: GGMLCodeChoice? = nil) -> LevelPolicy {
        var p = LevelPolicy(pattern: type.rawValue, high: .fp16, low: .fp16, highFraction: 0, compensationRank: 0, ggml: type)
        p.ggmlCodes = codes
        return p
    }

    public init(pattern: String, high: QuantFormat, low: QuantFormat, highFraction: Double, highGroupSize: Int? = nil, lowGroupSize: Int? = nil, compensationRank: Int, symmetricLow: Bool? = nil, allocation: String? = nil, ggml: GGMLType? = nil) {
        self.pattern = pattern
        self.high = high
        self.low = low
        self.highFraction = highFraction
        self.highGroupSize = highGroupSize
        self.lowGroupSize = lowGroupSize
        self.compensationRank = compensationRank
        self.symmetricLow = symmetricLow
        self.allocation = allocation
        self.ggml = ggml
    }
}

/// Who chooses the codes and scales inside a ggml block: llama.cpp's reference quantizer, or our search.
public enum GGMLCodeChoice: String, Codable, Sendable {
    case reference, search
}

/// One row of a role table: tensors whose name matches `match` (a regular expression) in a model whose
/// model_type is in `families` (or any model, when empty) get this role and level.
public struct RoleRule: Codable, Sendable, Equatable {
    public var families: [String]
    public var match: String
    public var role: String
    public var level: Int

    public init(families: [String], match: String, role: String, level: Int) {
        self.families = families
        self.match = match
        self.role = role
        self.level = level
    }
}

public struct RotationSettings: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var seedCandidates: Int        // how many sign seeds the search scores
    public var sampleRows: Int            // rows on which each candidate's quantization error is measured
    enum CodingKeys: String, CodingKey { case enabled, seedCandidates = "seed_candidates", sampleRows = "sample_rows" }

    public init(enabled: Bool, seedCandidates: Int, sampleRows: Int) {
        self.enabled = enabled
        self.seedCandidates = seedCandidates
        self.sampleRows = sampleRows
    }
}

public struct ClusterSettings: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var threshold: Double          // |correlation| above which two input columns are joined
    public var sampleRows: Int
    enum CodingKeys: String, CodingKey { case enabled, threshold, sampleRows = "sample_rows" }

    public init(enabled: Bool, threshold: Double, sampleRows: Int) {
        self.enabled = enabled
        self.threshold = threshold
        self.sampleRows = sampleRows
    }
}

/// A compression profile: the level map, the patterns per level and the engine's settings. Profiles are YAML
/// files (cluster-config/profiles/); `inherits` names a profile whose keys this one overrides.
public struct Profile: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var tileElements: Int          // upper bound of floats in one row tile: bounds worker memory
    public var granularity: Granularity
    public var rotation: RotationSettings
    public var clusters: ClusterSettings
    public var levels: [String: LevelPolicy]   // "1" ... "5"
    public var keepSource: [String]       // roles kept at source precision
    /// Auto over ggml types (gguf-auto): the keep_source roles (embeddings, output head) are stored in this ggml
    /// type instead, or in llama-quantize's fall-back for their rows, and left out of the choice of types.
    public var keepSourceGGML: GGMLType?
    public var roles: [RoleRule]
    /// Per-tensor policies that replace the level's (the `auto` profile writes them from measured errors).
    public var overrides: [String: LevelPolicy]?
    /// The `auto` profile's budget: bits per weight over all parameters, counted from the layers/ folder.
    public var targetBitsPerWeight: Double?
    /// The `auto` profile's menu of per-tensor policies.
    public var candidates: [LevelPolicy]?
    /// GGUF profiles: choose every tensor's ggml type as llama-quantize does for this mix (e.g. Q4_K_M).
    public var ggufMix: GGUFMix?
    /// GGUF profiles: `reference` fills the blocks with llama.cpp's own codes (the baseline, byte for byte),
    /// `search` (the default) with ours.
    public var ggmlCodes: GGMLCodeChoice?
    /// Calibrated profiles (gptq-*): the block linears are rounded by GPTQ against H = XᵀX of their inputs,
    /// captured layer by layer on `--calibration` text.
    public var calibration: CalibrationSettings?

    enum CodingKeys: String, CodingKey {
        case name, description, granularity, rotation, clusters, levels, roles, overrides, candidates, calibration
        case ggufMix = "gguf_mix", ggmlCodes = "ggml_codes"
        case tileElements = "tile_elements", keepSource = "keep_source", keepSourceGGML = "keep_source_ggml"
        case targetBitsPerWeight = "target_bits_per_weight"
    }

    public func policy(level: Int) -> LevelPolicy? { levels[String(level)] }

    /// The canonical JSON of the resolved profile: stored in the package and hashed, so a resume can tell
    /// whether the profile changed.
    public func canonicalJSON() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return Array(try! e.encode(self))
    }
    public var hash: String { Digest.sha256Hex(canonicalJSON()) }
}

public struct ProfileError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
