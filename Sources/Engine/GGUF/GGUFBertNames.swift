/// A BERT encoder (sentence-transformers' MiniLM and the like) as llama.cpp's "bert" architecture: its
/// hyper-parameters from config.json, the pooling from modules.json, and gguf-py's tensor names for it. The
/// pooler and the position_ids buffer have no place in the file (convert_hf_to_gguf.py drops them too: llama.cpp
/// pools the last hidden states itself).
public struct GGUFBertNames: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var contextLength: Int
    public var layerNormEps: Double
    /// llama.cpp's pooling type: 1 mean, 2 CLS (sentence-transformers' Pooling module; mean without one).
    public var poolingType: UInt32

    public init(config: JSONValue, file: String, folder: String?) throws(GGUFError) {
        func int(_ key: String) throws(GGUFError) -> Int {
            guard let v = config[key]?.uint64Value, v > 0, v < UInt64(Int32.max) else {
                throw .badKey(file: file, key: key, reason: "missing, or not a positive integer")
            }
            return Int(v)
        }
        vocabSize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        intermediateSize = try int("intermediate_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        contextLength = try int("max_position_embeddings")
        guard hiddenSize % heads == 0 else {
            throw .badKey(file: file, key: "num_attention_heads", reason: "\(heads) heads do not divide hidden_size \(hiddenSize)")
        }
        layerNormEps = config["layer_norm_eps"]?.doubleValue ?? 1e-12
        if let p = config["position_embedding_type"]?.stringValue, p != "absolute" {
            throw .unsupported(file: file, reason: "position_embedding_type '\(p)' (llama.cpp's bert takes absolute positions)")
        }
        // llama.cpp pools by mean or CLS (max pooling has no counterpart there: mean).
        poolingType = folder.map { SentencePooling.load(folder: $0).mode == .cls ? 2 : 1 } ?? 1
    }

    private static let whole: [(hf: String, gguf: String)] = [
        ("embeddings.word_embeddings", "token_embd"), ("embeddings.token_type_embeddings", "token_types"),
        ("embeddings.position_embeddings", "position_embd"), ("embeddings.LayerNorm", "token_embd_norm"),
    ]

    private static let perLayer: [(hf: String, gguf: String)] = [
        ("attention.self.query", "attn_q"), ("attention.self.key", "attn_k"), ("attention.self.value", "attn_v"),
        ("attention.output.dense", "attn_output"), ("attention.output.LayerNorm", "attn_output_norm"),
        ("intermediate.dense", "ffn_up"), ("output.dense", "ffn_down"), ("output.LayerNorm", "layer_output_norm"),
    ]

    /// Checkpoint tensors the file leaves out.
    public func isDropped(hf name: String) -> Bool {
        let n = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
        return n == "embeddings.position_ids" || n.hasPrefix("pooler.")
    }

    /// llama.cpp's name for an HF tensor, or nil when it has none.
    public func ggufName(hf name: String) -> String? {
        let n = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
        guard let dot = n.lastIndex(of: "."), ["weight", "bias"].contains(n[n.index(after: dot)...]) else { return nil }
        let part = String(n[..<dot]), suffix = String(n[n.index(after: dot)...])
        if let w = Self.whole.first(where: { $0.hf == part }) { return w.gguf + "." + suffix }
        guard part.hasPrefix("encoder.layer.") else { return nil }
        let rest = part.dropFirst("encoder.layer.".count)
        guard let d = rest.firstIndex(of: "."), let layer = Int(rest[..<d]), String(layer) == rest[..<d], layer < layers,
              let m = Self.perLayer.first(where: { $0.hf == rest[rest.index(after: d)...] }) else { return nil }
        return "blk.\(layer).\(m.gguf).\(suffix)"
    }

    /// The `bert.*` metadata llama.cpp's loader reads.
    public func ggufMetadata(name: String, fileType: UInt32?) -> [(key: String, value: GGUFValue)] {
        var kvs: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("bert")),
            ("general.name", .string(name)),
            ("bert.block_count", .uint32(UInt32(layers))),
            ("bert.context_length", .uint32(UInt32(contextLength))),
            ("bert.embedding_length", .uint32(UInt32(hiddenSize))),
            ("bert.feed_forward_length", .uint32(UInt32(intermediateSize))),
            ("bert.attention.head_count", .uint32(UInt32(heads))),
            ("bert.attention.layer_norm_epsilon", .float32(Float(layerNormEps))),
            ("bert.attention.causal", .bool(false)),
            ("bert.pooling_type", .uint32(poolingType)),
        ]
        if let fileType { kvs.append(("general.file_type", .uint32(fileType))) }
        kvs.append(("bert.vocab_size", .uint32(UInt32(vocabSize))))
        return kvs
    }
}
