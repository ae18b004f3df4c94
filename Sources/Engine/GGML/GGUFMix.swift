/// llama-quantize's named quantization mixes and the per-tensor ggml type each one picks, so a GGUF we export at a
/// mix has exactly the tensor types (hence the bytes) of llama-quantize's file at the same mix.
///
/// Ported (read, not copied) from llama.cpp as vendored in the llama-cpp-python 0.3.36 sdist (llama.cpp 0.5.0-dev,
/// ggml 0.25.3): src/llama-quant.cpp (`llama_ftype_get_default_type`, `tensor_allows_quantization`,
/// `tensor_get_category`, `init_quantize_state_counters`, `llama_tensor_get_type`, `llama_tensor_get_type_impl`,
/// `tensor_type_fallback`) and src/llama-model-loader.h (`weight_name_comparer`, the order tensors are visited in).
/// Modelled: no imatrix, default options (no --pure, --leave-output-tensor, --output-tensor-type,
/// --token-embedding-type or --tensor-type). Only mixes whose every outcome is a `GGMLType` are listed; the IQ1-IQ3,
/// Q2_K_S (needs an imatrix), ternary and MXFP4 mixes and the GLM5-next rules are left out.
public enum GGUFMix: String, Codable, Sendable, CaseIterable {
    case q8_0 = "Q8_0", q6_K = "Q6_K"
    case q5_K_M = "Q5_K_M", q5_K_S = "Q5_K_S", q5_1 = "Q5_1", q5_0 = "Q5_0"
    case q4_K_M = "Q4_K_M", q4_K_S = "Q4_K_S", q4_1 = "Q4_1", q4_0 = "Q4_0"
    case iq4_xs = "IQ4_XS", iq4_nl = "IQ4_NL"
    case q3_K_L = "Q3_K_L", q3_K_M = "Q3_K_M", q3_K_S = "Q3_K_S", q2_K = "Q2_K"

    /// The type of every quantizable tensor the mix's rules leave alone (`llama_ftype_get_default_type`).
    public var defaultType: GGMLType {
        switch self {
        case .q8_0: .q8_0
        case .q6_K: .q6_K
        case .q5_K_M, .q5_K_S: .q5_K
        case .q5_1: .q5_1
        case .q5_0: .q5_0
        case .q4_K_M, .q4_K_S: .q4_K
        case .q4_1: .q4_1
        case .q4_0: .q4_0
        case .iq4_xs: .iq4_xs
        case .iq4_nl: .iq4_nl
        case .q3_K_L, .q3_K_M, .q3_K_S: .q3_K
        case .q2_K: .q2_K
        }
    }

    /// llama.h's `llama_ftype` value, written to a GGUF's `general.file_type`.
    public var llamaFileType: UInt32 {
        switch self {
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        case .q5_0: 8
        case .q5_1: 9
        case .q2_K: 10
        case .q3_K_S: 11
        case .q3_K_M: 12
        case .q3_K_L: 13
        case .q4_K_S: 14
        case .q4_K_M: 15
        case .q5_K_S: 16
        case .q5_K_M: 17
        case .q6_K: 18
        case .iq4_nl: 25
        case .iq4_xs: 30
        }
    }

    /// The type llama-quantize gives each of `model.tensors`, in that order. Tensors it does not quantize (1-D ones
    /// such as norms, biases, expert routers) keep their `sourceType`.
    public func tensorTypes(for model: GGUFMixModel) throws -> [GGMLType] {
        var selection = GGUFMixSelection(mix: self, model: model)
        var types = model.tensors.map(\.sourceType)
        for index in GGUFMixSelection.visitOrder(model.tensors) {
            let tensor = model.tensors[index]
            if GGUFMixSelection.allowsQuantization(tensor) {
                types[index] = try selection.type(for: tensor)
            }
        }
        return types
    }
}

/// What llama-quantize's type choice reads from a model: its GGUF tensor list and a few hyperparameters.
public struct GGUFMixModel: Sendable {
    public struct Tensor: Sendable {
        /// The llama.cpp (GGUF) tensor name, e.g. "blk.3.attn_v.weight".
        public var name: String
        /// ggml order: `shape[0]` (ne0) is the row length.
        public var shape: [Int]
        /// The tensor's type in the source; non-quantized tensors keep it.
        public var sourceType: GGMLType

        public init(name: String, shape: [Int], sourceType: GGMLType = .f32) {
            self.name = name
            self.shape = shape
            self.sourceType = sourceType
        }
    }

    /// `general.architecture`, e.g. "llama" (Falcon and the Llama 70B shape have their own rules).
    public var architecture: String
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    /// `<arch>.expert_count`; 0 for dense models.
    public var expertCount: Int
    /// Every tensor of the model. Whether the embeddings are tied is read from it: no "output.weight" means tied.
    public var tensors: [Tensor]
    /// Whether an importance matrix is given (llama.cpp's `has_imatrix`): two ffn_down rules depend on it.
    public var hasImportanceMatrix: Bool

    public init(architecture: String, layerCount: Int, headCount: Int, kvHeadCount: Int, expertCount: Int = 0,
                tensors: [Tensor], hasImportanceMatrix: Bool = false) {
        self.architecture = architecture
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.expertCount = expertCount
        self.tensors = tensors
        self.hasImportanceMatrix = hasImportanceMatrix
    }
}

public enum GGUFMixError: Error, CustomStringConvertible {
    case layerNotFound(tensor: String, layerCount: Int)

    public var description: String {
        switch self {
        case let .layerNotFound(tensor, layerCount):
            "expert tensor \(tensor) names no layer in [0, \(layerCount))"
        }
    }
}
