/// Every tensor's ggml type under a llama-quantize mix, for a model named the Hugging Face way: the tensors are
/// renamed and reshaped as llama.cpp sees them and the mix's rules run over the whole list, as llama-quantize
/// runs them over a GGUF file. Planning from headers alone, so the package has the peer's bytes exactly.
public enum GGUFMixPlan {
    public static func types(mix: GGUFMix, config: JSONValue, tensors: [CheckpointTensor], source: String,
                             hasImportanceMatrix: Bool = false) throws -> [String: GGMLType] {
        let hp = try LlamaHyperParameters(config: config, file: source)
        let names = GGUFLlamaNames(hp)
        var model: [GGUFMixModel.Tensor] = []
        for t in tensors {
            guard let name = names.ggufName(hf: t.name) else {
                throw GGUFError.unsupported(file: source, reason: "tensor '\(t.name)' has no llama.cpp name, so no GGUF type for mix \(mix.rawValue)")
            }
            model.append(GGUFMixModel.Tensor(name: name, shape: Array(t.entry.shape.reversed())))
        }
        let chosen = try mix.tensorTypes(for: GGUFMixModel(architecture: hp.ggufArchitecture, layerCount: hp.layers,
                                                          headCount: hp.heads, kvHeadCount: hp.kvHeads, tensors: model,
                                                          hasImportanceMatrix: hasImportanceMatrix))
        var out: [String: GGMLType] = [:]
        for (t, type) in zip(tensors, chosen) {
            guard type.rowBytes(columns: t.entry.columns) != nil else {
                throw GGUFError.unsupported(file: source, reason: "tensor '\(t.name)': rows of \(t.entry.columns) are not whole \(type.rawValue) blocks")
            }
            out[t.name] = type
        }
        return out
    }
}
