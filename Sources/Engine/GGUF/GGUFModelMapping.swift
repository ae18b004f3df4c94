/// How a checkpoint goes into a GGUF file: a Llama-family decoder (llama, mistral, qwen2) or a BERT encoder,
/// each with llama.cpp's tensor names and metadata.
public enum GGUFModelMapping: Sendable {
    case llama(GGUFLlamaNames)
    case bert(GGUFBertNames)

    /// `folder`: the checkpoint folder (or a package's tokenizer folder), where a BERT's pooling module is read.
    public init(config: JSONValue, file: String, folder: String? = nil) throws(GGUFError) {
        let type = config["model_type"]?.stringValue ?? ""
        guard type == "bert" || LlamaHyperParameters.architectures[type] != nil else {
            let known = (["bert"] + LlamaHyperParameters.architectures.keys).sorted().joined(separator: ", ")
            throw .unsupported(file: file, reason: "model_type '\(type)' has no GGUF mapping here (\(known))")
        }
        if type == "bert" {
            self = .bert(try GGUFBertNames(config: config, file: file, folder: folder))
        } else {
            self = .llama(GGUFLlamaNames(try LlamaHyperParameters(config: config, file: file)))
        }
    }

    public func ggufName(hf name: String) -> String? {
        switch self {
        case .llama(let n): n.ggufName(hf: name)
        case .bert(let n): n.ggufName(hf: name)
        }
    }

    /// A checkpoint tensor the file leaves out by design (BERT's pooler and position_ids).
    public func isDropped(hf name: String) -> Bool {
        if case .bert(let n) = self { return n.isDropped(hf: name) }
        return false
    }

    /// Heads a tensor's rows are permuted over between HF and GGUF order (llama's q and k), else nil.
    public func permutedHeads(hf name: String) -> Int? {
        if case .llama(let n) = self { return n.permutedHeads(hf: name) }
        return nil
    }

    /// The model as llama-quantize's mix rules see it.
    public func mixModel(_ tensors: [GGUFMixModel.Tensor], hasImportanceMatrix: Bool) -> GGUFMixModel {
        switch self {
        case .llama(let n):
            let hp = n.hyperParameters
            return GGUFMixModel(architecture: hp.ggufArchitecture, layerCount: hp.layers, headCount: hp.heads, kvHeadCount: hp.kvHeads,
                                tensors: tensors, hasImportanceMatrix: hasImportanceMatrix)
        case .bert(let n):
            return GGUFMixModel(architecture: "bert", layerCount: n.layers, headCount: n.heads, kvHeadCount: n.heads,
                                tensors: tensors, hasImportanceMatrix: hasImportanceMatrix)
        }
    }

    public func ggufMetadata(name: String, fileType: UInt32?) -> [(key: String, value: GGUFValue)] {
        switch self {
        case .llama(let n): n.hyperParameters.ggufMetadata(name: name, fileType: fileType)
        case .bert(let n): n.ggufMetadata(name: name, fileType: fileType)
        }
    }

    /// llama.cpp's rope_freqs.weight (Llama-3 rope scaling only).
    public var ropeFactors: [Float]? {
        if case .llama(let n) = self { return n.hyperParameters.llama3RopeFactors() }
        return nil
    }
}
