/// The inputs and results of a calibrated job's layer passes (CAPTURE and PROPAGATE) and of its calibrated
/// QUANTIZE tiles: plain values, sent to workers as the typed messages of proto/uqcit/v2/messages.proto.

/// The input spaces of a block's linears, each with its own H = XᵀX: q/k/v read one, gate/up (BERT's intermediate) another.
public enum HessianSpace: String, Codable, Sendable, CaseIterable {
    case attentionInput = "attn_in", attentionOutput = "o_in", mlpInput = "mlp_in", mlpOutput = "down_in"

    /// The space whose H rounds a block linear of this role (nil for norms and biases).
    public init?(role: BlockTensorRole) {
        switch role {
        case .q, .k, .v: self = .attentionInput
        case .o: self = .attentionOutput
        case .gate, .up: self = .mlpInput
        case .down: self = .mlpOutput
        default: return nil
        }
    }
}

/// A Llama-family block's hyper-parameters, derived by the coordinator from config.json.
public struct LlamaBlockShape: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var rmsNormEps: Float
    /// RoPE's inverse frequencies (headDim / 2), after any rope_scaling.
    public var inverseFrequencies: [Double]

    public init(hiddenSize: Int, intermediateSize: Int, heads: Int, kvHeads: Int, headDim: Int, rmsNormEps: Float, inverseFrequencies: [Double]) {
        self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize; self.heads = heads; self.kvHeads = kvHeads
        self.headDim = headDim; self.rmsNormEps = rmsNormEps; self.inverseFrequencies = inverseFrequencies
    }

    /// The dimensions of one input space: columns of the linears that read it.
    public func columns(of space: HessianSpace) -> Int {
        switch space {
        case .attentionInput, .mlpInput: hiddenSize
        case .attentionOutput: heads * headDim
        case .mlpOutput: intermediateSize
        }
    }

    /// The first value that cannot describe a block, as a sentence.
    public func problem() -> String? {
        if [hiddenSize, intermediateSize, heads, kvHeads, headDim].contains(where: { $0 < 1 || $0 > 1 << 20 }) {
            return "block dimensions \(hiddenSize), \(intermediateSize), \(heads) heads, \(kvHeads) kv heads, head_dim \(headDim) must be in 1...\(1 << 20)"
        }
        if heads % kvHeads != 0 { return "\(heads) heads are not a multiple of \(kvHeads) kv heads" }
        if headDim % 2 != 0 || inverseFrequencies.count != headDim / 2 { return "\(inverseFrequencies.count) RoPE frequencies for head_dim \(headDim)" }
        if !rmsNormEps.isFinite || rmsNormEps < 0 || inverseFrequencies.contains(where: { !$0.isFinite }) { return "a non-finite norm epsilon or RoPE frequency" }
        return nil
    }
}

/// A BERT encoder layer's hyper-parameters, derived by the coordinator from config.json.
public struct BertBlockShape: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var heads: Int
    public var layerNormEps: Float
    /// config.json's hidden_act: "gelu" (erf), "gelu_new" or "gelu_pytorch_tanh" (tanh), or "relu".
    public var activation: String
    /// Rows of the position embeddings.
    public var maxPositions: Int

    public static let activations = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"]

    public init(hiddenSize: Int, intermediateSize: Int, heads: Int, layerNormEps: Float, activation: String, maxPositions: Int) {
        self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize; self.heads = heads
        self.layerNormEps = layerNormEps; self.activation = activation; self.maxPositions = maxPositions
    }

    public func columns(of space: HessianSpace) -> Int { space == .mlpOutput ? intermediateSize : hiddenSize }

    /// The first value that cannot describe a layer, as a sentence.
    public func problem() -> String? {
        if [hiddenSize, intermediateSize, heads, maxPositions].contains(where: { $0 < 1 || $0 > 1 << 20 }) {
            return "layer dimensions \(hiddenSize), \(intermediateSize), \(heads) heads, \(maxPositions) positions must be in 1...\(1 << 20)"
        }
        if hiddenSize % heads != 0 { return "hidden size \(hiddenSize) is not a multiple of \(heads) heads" }
        if !layerNormEps.isFinite || layerNormEps < 0 { return "a non-finite or negative LayerNorm epsilon" }
        if !Self.activations.contains(activation) { return "activation '\(activation)' (one of \(Self.activations.joined(separator: ", ")))" }
        return nil
    }
}

/// The block a layer pass runs: a Llama decoder block or a BERT encoder layer.
public enum BlockShape: Codable, Sendable, Equatable {
    case llama(LlamaBlockShape)
    case bert(BertBlockShape)

    public var hiddenSize: Int {
        switch self {
        case .llama(let s): s.hiddenSize
        case .bert(let s): s.hiddenSize
        }
    }

    public func columns(of space: HessianSpace) -> Int {
        switch self {
        case .llama(let s): s.columns(of: space)
        case .bert(let s): s.columns(of: space)
        }
    }

    public func problem() -> String? {
        switch self {
        case .llama(let s): s.problem()
        case .bert(let s): s.problem()
        }
    }

    /// The roles of the linears the calibrated job rounds, in the block's order.
    public var linearRoles: [BlockTensorRole] {
        switch self {
        case .llama: [.q, .k, .v, .o, .gate, .up, .down]
        case .bert: [.q, .k, .v, .o, .up, .down]
        }
    }
}

/// What a weight of a block is. Llama and BERT share the linears' roles (BERT has no gate; its intermediate.dense
/// is `up`, its output.dense `down`); BERT adds LayerNorm biases, the norm after the MLP, and block 0's embedding stage.
public enum BlockTensorRole: String, Codable, Sendable, CaseIterable {
    case inputNorm = "input_norm", postNorm = "post_norm", q, k, v, o, gate, up, down
    case qBias = "q_bias", kBias = "k_bias", vBias = "v_bias", oBias = "o_bias", gateBias = "gate_bias", upBias = "up_bias", downBias = "down_bias"
    case postNormBias = "post_norm_bias", outputNorm = "output_norm", outputNormBias = "output_norm_bias"
    case positionEmbedding = "position_embedding", tokenTypeEmbedding = "token_type_embedding"
    case embeddingNorm = "embedding_norm", embeddingNormBias = "embedding_norm_bias"

    /// BERT's roles in every layer, all required.
    public static let bertLayerRoles: [BlockTensorRole] = [.q, .qBias, .k, .kBias, .v, .vBias, .o, .oBias, .postNorm, .postNormBias,
                                                           .up, .upBias, .down, .downBias, .outputNorm, .outputNormBias]
    /// BERT's embedding stage, carried by block 0.
    public static let bertEmbeddingRoles: [BlockTensorRole] = [.positionEmbedding, .tokenTypeEmbedding, .embeddingNorm, .embeddingNormBias]

    /// The BERT name of this weight in layer `layer`, after the model's prefix ("bert." or none); nil for a role BERT has not.
    public func bertName(layer: Int) -> String? {
        let p = "encoder.layer.\(layer)."
        switch self {
        case .q, .qBias: return p + "attention.self.query." + (self == .q ? "weight" : "bias")
        case .k, .kBias: return p + "attention.self.key." + (self == .k ? "weight" : "bias")
        case .v, .vBias: return p + "attention.self.value." + (self == .v ? "weight" : "bias")
        case .o, .oBias: return p + "attention.output.dense." + (self == .o ? "weight" : "bias")
        case .postNorm, .postNormBias: return p + "attention.output.LayerNorm." + (self == .postNorm ? "weight" : "bias")
        case .up, .upBias: return p + "intermediate.dense." + (self == .up ? "weight" : "bias")
        case .down, .downBias: return p + "output.dense." + (self == .down ? "weight" : "bias")
        case .outputNorm, .outputNormBias: return p + "output.LayerNorm." + (self == .outputNorm ? "weight" : "bias")
        case .positionEmbedding: return "embeddings.position_embeddings.weight"
        case .tokenTypeEmbedding: return "embeddings.token_type_embeddings.weight"
        case .embeddingNorm: return "embeddings.LayerNorm.weight"
        case .embeddingNormBias: return "embeddings.LayerNorm.bias"
        case .inputNorm, .gate, .gateBias: return nil
        }
    }

    /// The Llama name of this weight in block `layer`, after the model's prefix ("model." or none); nil for a role Llama has not.
    public func llamaName(layer: Int) -> String? {
        let p = "layers.\(layer)."
        switch self {
        case .inputNorm: return p + "input_layernorm.weight"
        case .postNorm: return p + "post_attention_layernorm.weight"
        case .q, .k, .v, .o: return p + "self_attn.\(rawValue)_proj.weight"
        case .gate, .up, .down: return p + "mlp.\(rawValue)_proj.weight"
        case .qBias, .kBias, .vBias, .oBias: return p + "self_attn.\(rawValue.dropLast(5))_proj.bias"
        case .gateBias, .upBias, .downBias: return p + "mlp.\(rawValue.dropLast(5))_proj.bias"
        case .postNormBias, .outputNorm, .outputNormBias, .positionEmbedding, .tokenTypeEmbedding, .embeddingNorm, .embeddingNormBias:
            return nil
        }
    }

    /// Optional in a Llama block: the linears' biases.
    public var isOptional: Bool { rawValue.hasSuffix("_bias") }
}

/// A quantized linear as its QUANTIZE tiles staged it: what PROPAGATE decodes instead of the source weights.
public struct StagedTensor: Codable, Sendable, Equatable {
    public var layout: QuantizedTensorLayout
    public var tileRows: Int
    /// The tiles in order, with the size and SHA-256 their QUANTIZE results stated.
    public var tiles: [TaskOutputFile]

    public init(layout: QuantizedTensorLayout, tileRows: Int, tiles: [TaskOutputFile]) {
        self.layout = layout; self.tileRows = tileRows; self.tiles = tiles
    }
}

/// One weight of the block: read from the source, or, in PROPAGATE, decoded from its staged tiles.
public struct BlockTensor: Codable, Sendable, Equatable {
    public var role: BlockTensorRole
    public var tensor: CheckpointTensor
    public var staged: StagedTensor?

    public init(role: BlockTensorRole, tensor: CheckpointTensor, staged: StagedTensor? = nil) {
        self.role = role; self.tensor = tensor; self.staged = staged
    }
}

/// CAPTURE or PROPAGATE of block `layer` over shard `shard`: `sequences` sequences of `sequenceLength` tokens.
/// Block 0 embeds the shard's token ids; later blocks read X_layer as the previous PROPAGATE staged it.
public struct LayerPassSpec: Codable, Sendable, Equatable {
    public var layer: Int
    public var shard: Int
    public var shape: BlockShape
    public var tensors: [BlockTensor]
    public var sequences: Int
    public var sequenceLength: Int
    /// Block 0: the embedding table and the shard's sequences * sequenceLength token ids.
    public var embedding: CheckpointTensor?
    public var tokens: [Int]
    /// Later blocks: the staged X_layer of this shard.
    public var hidden: TaskOutputFile?

    public init(layer: Int, shard: Int, shape: BlockShape, tensors: [BlockTensor], sequences: Int, sequenceLength: Int,
                embedding: CheckpointTensor?, tokens: [Int], hidden: TaskOutputFile?) {
        self.layer = layer; self.shard = shard; self.shape = shape; self.tensors = tensors
        self.sequences = sequences; self.sequenceLength = sequenceLength
        self.embedding = embedding; self.tokens = tokens; self.hidden = hidden
    }

    public var tokenCount: Int { sequences * sequenceLength }

    public func tensor(_ role: BlockTensorRole) -> BlockTensor? { tensors.first { $0.role == role } }
}

/// What a layer pass reports besides its files: the tokens it ran, which must be the shard's.
public struct LayerPassResult: Codable, Sendable, Equatable {
    public var tokens: Int

    public init(tokens: Int) { self.tokens = tokens }
}

/// A calibrated QUANTIZE tile: the H shards of the tile's input space, summed in shard order, how the tile is
/// rounded against it, and GPTQ's options.
public struct HessianInput: Codable, Sendable, Equatable {
    public var space: HessianSpace
    /// H from each CAPTURE shard of the block, in shard order, with the size and SHA-256 their results stated.
    public var shards: [TaskOutputFile]
    public var rounding: CalibratedRounding
    public var damping: Double
    public var blockSize: Int
    public var actOrder: Bool

    public init(space: HessianSpace, shards: [TaskOutputFile], rounding: CalibratedRounding = .gptq, damping: Double, blockSize: Int, actOrder: Bool) {
        self.space = space; self.shards = shards; self.rounding = rounding
        self.damping = damping; self.blockSize = blockSize; self.actOrder = actOrder
    }
}

/// Runs CAPTURE and PROPAGATE, which need a model's forward pass (Runtime's); a worker's StepExecutor is given one.
public protocol LayerPassRunner: Sendable {
    /// The files the pass writes, by staging name, and its result.
    func run(_ kind: TaskKind, _ spec: LayerPassSpec, source: TensorRowSource, stagingFolder: String) throws -> (files: [(name: String, bytes: [UInt8])], result: LayerPassResult)
}
