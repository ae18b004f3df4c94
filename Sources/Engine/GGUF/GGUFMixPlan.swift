/// Every tensor's ggml type under a llama-quantize mix, for a model named the Hugging Face way: the tensors are
/// renamed and reshaped as llama.cpp sees them and the mix's rules run over the whole list, as llama-quantize
/// runs them over a GGUF file. Planning from headers alone, so the package has the peer's bytes exactly. Tensors the
/// file leaves out (a BERT's pooler) get no type.
public enum GGUFMixPlan {
    public static func types(mix: GGUFMix, config: JSONValue, tensors: [CheckpointTensor], source: String,
                             hasImportanceMatrix: Bool = false) throws -> [String: GGMLType] {
        let names = try GGUFModelMapping(config: config, file: source)
        var model: [GGUFMixModel.Tensor] = [], kept: [CheckpointTensor] = []
        for t in tensors where !names.isDropped(hf: t.name) {
            guard let name = names.ggufName(hf: t.name) else {
                throw GGUFError.unsupported(file: source, reason: "tensor '\(t.name)' has no llama.cpp name, so no GGUF type for mix \(mix.rawValue)")
            }
            model.append(GGUFMixModel.Tensor(name: name, shape: Array(t.entry.shape.reversed())))
            kept.append(t)
        }
        let chosen = try mix.tensorTypes(for: names.mixModel(model, hasImportanceMatrix: hasImportanceMatrix))
        var out: [String: GGMLType] = [:]
        for (t, type) in zip(kept, chosen) {
            guard type.rowBytes(columns: t.entry.columns) != nil else {
                throw GGUFError.unsupported(file: source, reason: "tensor '\(t.name)': rows of \(t.entry.columns) are not whole \(type.rawValue) blocks")
            }
            out[t.name] = type
        }
        return out
    }
}
