import Foundation

/// The hyper-parameters of a Llama-family model (llama, mistral, qwen2) that a GGUF file carries, read from a
/// Hugging Face config.json or from GGUF metadata, and written back as either.
public struct LlamaHyperParameters: Sendable, Equatable {
    public var modelType: String               // HF model_type: "llama", "mistral", "qwen2"
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var contextLength: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var tieWordEmbeddings: Bool
    public var ropeScaling: RopeScaling?

    public struct RopeScaling: Sendable, Equatable {
        public var type: String                // "linear", "llama3", ...
        public var factor: Double
        public var lowFrequencyFactor: Double
        public var highFrequencyFactor: Double
        public var originalContextLength: Int
    }

    /// The HF model types mapped here, and the GGUF architecture each becomes (mistral is llama to llama.cpp).
    public static let architectures: [String: String] = ["llama": "llama", "mistral": "llama", "qwen2": "qwen2"]

    public var ggufArchitecture: String { Self.architectures[modelType]! }

    public init(config: JSONValue, file: String) throws(GGUFError) {
        guard let type = config["model_type"]?.stringValue, Self.architectures[type] != nil else {
            throw .unsupported(file: file, reason: "model_type '\(config["model_type"]?.stringValue ?? "")' has no GGUF mapping here (\(Self.architectures.keys.sorted().joined(separator: ", ")))")
        }
        func int(_ key: String, default d: Int? = nil) throws(GGUFError) -> Int {
            if let v = config[key]?.uint64Value, v > 0, v < UInt64(Int32.max) { return Int(v) }
            if config[key] == nil || config[key] == .null, let d { return d }
            throw .badKey(file: file, key: key, reason: "missing, or not a positive integer")
        }
        func double(_ key: String, default d: Double) throws(GGUFError) -> Double {
            guard let v = config[key], v != .null else { return d }
            guard let x = v.doubleValue, x > 0 else { throw .badKey(file: file, key: key, reason: "not a positive number") }
            return x
        }
        modelType = type
        vocabSize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        intermediateSize = try int("intermediate_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        kvHeads = try int("num_key_value_heads", default: heads)
        guard hiddenSize % heads == 0 || config["head_dim"] != nil else {
            throw .badKey(file: file, key: "num_attention_heads", reason: "\(heads) heads do not divide hidden_size \(hiddenSize)")
        }
        headDim = try int("head_dim", default: hiddenSize / heads)
        guard heads % kvHeads == 0 else {
            throw .badKey(file: file, key: "num_key_value_heads", reason: "\(kvHeads) does not divide num_attention_heads \(heads)")
        }
        contextLength = try int("max_position_embeddings")
        rmsNormEps = try double("rms_norm_eps", default: 1e-6)
        ropeTheta = try double("rope_theta", default: 10000)
        tieWordEmbeddings = config["tie_word_embeddings"] == .bool(true)
        if let s = config["rope_scaling"], s.objectValue != nil {
            guard let t = (s["rope_type"] ?? s["type"])?.stringValue else {
                throw .badKey(file: file, key: "rope_scaling", reason: "no rope_type")
            }
            ropeScaling = RopeScaling(type: t, factor: s["factor"]?.doubleValue ?? 8,
                                      lowFrequencyFactor: s["low_freq_factor"]?.doubleValue ?? 1,
                                      highFrequencyFactor: s["high_freq_factor"]?.doubleValue ?? 4,
                                      originalContextLength: s["original_max_position_embeddings"]?.uint64Value.map { Int($0) } ?? 8192)
            guard ["linear", "llama3", "default"].contains(t) else {
                throw .unsupported(file: file, reason: "rope_scaling type '\(t)' is not converted (linear and llama3 are)")
            }
        }
    }

    /// From a GGUF file's `ARCH.*` metadata (llama or qwen2); `tied`: whether the file has no output.weight.
    public init(gguf: GGUFFile, tied: Bool) throws(GGUFError) {
        guard let arch = gguf["general.architecture"]?.stringValue, Self.architectures[arch] == arch else {
            throw .unsupported(file: gguf.path, reason: "general.architecture '\(gguf["general.architecture"]?.stringValue ?? "")' is not read as a source (llama, qwen2 are)")
        }
        func int(_ key: String, default d: Int? = nil) throws(GGUFError) -> Int {
            if let v = gguf["\(arch).\(key)"]?.intValue, v > 0, v < Int(Int32.max) { return v }
            if gguf["\(arch).\(key)"] == nil, let d { return d }
            throw .badKey(file: gguf.path, key: "\(arch).\(key)", reason: "missing, or not a positive integer")
        }
        func double(_ key: String, default d: Double) throws(GGUFError) -> Double {
            guard let v = gguf["\(arch).\(key)"] else { return d }
            guard let x = v.doubleValue, x > 0 else { throw .badKey(file: gguf.path, key: "\(arch).\(key)", reason: "not a positive number") }
            // A float32 such as 1e-5 reads back as its shortest decimal, as the config it came from spelled it.
            if case .float32(let f) = v, let shortest = Double("\(f)") { return shortest }
            return x
        }
        modelType = arch
        hiddenSize = try int("embedding_length")
        intermediateSize = try int("feed_forward_length")
        layers = try int("block_count")
        heads = try int("attention.head_count")
        kvHeads = try int("attention.head_count_kv", default: heads)
        guard heads % kvHeads == 0 else {
            throw .badKey(file: gguf.path, key: "\(arch).attention.head_count_kv", reason: "\(kvHeads) does not divide head_count \(heads)")
        }
        headDim = try int("attention.key_length", default: hiddenSize / heads)
        contextLength = try int("context_length")
        rmsNormEps = try double("attention.layer_norm_rms_epsilon", default: 1e-6)
        ropeTheta = try double("rope.freq_base", default: 10000)
        let tokenCount = gguf["tokenizer.ggml.tokens"]?.arrayValue?.count
        vocabSize = try int("vocab_size", default: tokenCount ?? 0)
        tieWordEmbeddings = tied
        if gguf["\(arch).rope.scaling.type"]?.stringValue == "linear", let f = gguf["\(arch).rope.scaling.factor"]?.doubleValue {
            ropeScaling = RopeScaling(type: "linear", factor: f, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: contextLength)
        }
    }

    /// The GGUF metadata convert_hf_to_gguf.py writes for these hyper-parameters.
    public func ggufMetadata(name: String, fileType: UInt32?) -> [(key: String, value: GGUFValue)] {
        let a = ggufArchitecture
        var kvs: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(a)),
            ("general.name", .string(name)),
            ("\(a).block_count", .uint32(UInt32(layers))),
            ("\(a).context_length", .uint32(UInt32(contextLength))),
            ("\(a).embedding_length", .uint32(UInt32(hiddenSize))),
            ("\(a).feed_forward_length", .uint32(UInt32(intermediateSize))),
            ("\(a).attention.head_count", .uint32(UInt32(heads))),
            ("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("\(a).rope.freq_base", .float32(Float(ropeTheta))),
            ("\(a).attention.layer_norm_rms_epsilon", .float32(Float(rmsNormEps))),
        ]
        if headDim * heads != hiddenSize {
            kvs.append(("\(a).attention.key_length", .uint32(UInt32(headDim))))
            kvs.append(("\(a).attention.value_length", .uint32(UInt32(headDim))))
        }
        if let fileType { kvs.append(("general.file_type", .uint32(fileType))) }
        kvs.append(("\(a).vocab_size", .uint32(UInt32(vocabSize))))
        kvs.append(("\(a).rope.dimension_count", .uint32(UInt32(headDim))))
        if let s = ropeScaling, s.type == "linear" {
            kvs.append(("\(a).rope.scaling.type", .string("linear")))
            kvs.append(("\(a).rope.scaling.factor", .float32(Float(s.factor))))
        }
        return kvs
    }

    /// An HF config.json for these hyper-parameters (architectures, model_type and the fields above).
    public func configJSONBytes() -> [UInt8] {
        let arch: [String: String] = ["llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"]
        var c: [String: Any] = [
            "architectures": [arch[modelType]!], "model_type": modelType, "vocab_size": vocabSize,
            "hidden_size": hiddenSize, "intermediate_size": intermediateSize, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": kvHeads, "head_dim": headDim,
            "max_position_embeddings": contextLength, "rms_norm_eps": rmsNormEps, "rope_theta": ropeTheta,
            "tie_word_embeddings": tieWordEmbeddings, "hidden_act": "silu",
        ]
        if let s = ropeScaling, s.type == "linear" { c["rope_scaling"] = ["rope_type": "linear", "factor": s.factor] }
        // Serialising plain dictionaries of numbers, strings and booleans cannot fail.
        return Array(try! JSONSerialization.data(withJSONObject: c, options: [.sortedKeys, .prettyPrinted]))
    }

    /// llama.cpp's rope_freqs.weight for Llama-3 rope scaling (convert_hf_to_gguf's rope factors, in float32 as
    /// it computes them): 1 for high frequencies, `factor` for low, a smooth blend between. nil without llama3.
    public func llama3RopeFactors() -> [Float]? {
        guard let s = ropeScaling, s.type == "llama3" else { return nil }
        let base = Float(ropeTheta), dim = Float(headDim), factor = Float(s.factor)
        let low = Float(s.lowFrequencyFactor), high = Float(s.highFrequencyFactor), old = Float(s.originalContextLength)
        let lowWavelength = old / low, highWavelength = old / high
        return stride(from: 0, to: headDim, by: 2).map { i in
            let frequency = 1 / pow(base, Float(i) / dim)
            let wavelength = 2 * Float.pi / frequency
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return factor }
            let smooth = (old / wavelength - low) / (high - low)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }
}
