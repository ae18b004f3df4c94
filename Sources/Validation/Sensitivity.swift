import Foundation
import Engine
import Pipeline
import Runtime

/// How much the model's output moves per unit of weight error, per role (q/k/v, attention output, FFN, head,
/// embeddings): Gaussian noise of relative size `epsilon` on all tensors of a role, measured as the mean KL
/// (LMs) or 1 - cosine (encoders) against the reference on calibration data. Second order in the error, so
/// loss ~ a_role * parameters * relative_error^2 with a_role = loss / (epsilon^2 * role parameters). This is
/// what lets the `auto` allocation spend bits where the output needs them, not where the weights are largest.
public enum Sensitivity {
    public static let epsilon = 0.1
    /// Above this many parameters a forward pass on the coordinator costs more than it is worth: tensors are then
    /// weighted by size. (Per-layer calibration on the workers would be the way at that scale.)
    public static let maxParameters = 3_000_000_000

    /// Per-tensor weights for BitAllocator (a_role * parameters), or nil when the runtime cannot run this model.
    public static func weights(model: String, profile: Profile, calibration: String?, windows: Int = 8,
                               progress: (String) -> Void = { _ in }) throws -> [String: Double]? {
        // Synthetic models have no weights to run; checkpoint folders and GGUF files are read by the runtime.
        guard !model.hasPrefix("synthetic:") else { return nil }
        let source = try ModelSources.open(model)
        guard ["llama", "mistral", "qwen2", "bert"].contains(source.modelType) else { return nil }
        let parameters = source.tensors.reduce(0) { $0 + $1.entry.elementCount }
        guard parameters <= maxParameters else {
            progress("\(parameters) parameters: no sensitivity pass on the coordinator")
            return nil
        }
        let reference = try ReferenceModel(path: model)
        // A causal LM is scored on text: the one given, else its eval.txt; with neither, tensors are weighted by size.
        if calibration == nil, source.modelType != "bert", !FileManager.default.fileExists(atPath: reference.defaultEval) {
            progress("no text for the sensitivity pass (no --sensitivity-text, no \(reference.defaultEval))")
            return nil
        }
        let plan = try JobPlan(source: source, profile: profile)
        let probe = try QualityProbe(reference: model, eval: calibration, maxWindows: windows, calibration: true)
        let original = reference.weights
        let byRole = Dictionary(grouping: plan.assignments.filter { $0.tensor.entry.shape.count >= 2 && $0.level > 0 }, by: \.role)
        var out: [String: Double] = [:]
        for (role, tensors) in byRole.sorted(by: { $0.key < $1.key }) {
            let names = Set(tensors.map(\.name))
            let q = try probe.measure(TransformedWeights(original, label: "sensitivity") { n, v, _ in
                names.contains(n) ? NoiseInjection.apply(v, level: epsilon, name: n) : nil
            })
            let loss = probe.kind == .causalLM ? (q.meanKL ?? 0) : 1 - q.quality
            let params = tensors.reduce(0) { $0 + $1.tensor.entry.elementCount }
            let a = max(loss, 1e-12) / (epsilon * epsilon * Double(params))
            for t in tensors { out[t.name] = a * Double(t.tensor.entry.elementCount) }
            progress(String(format: "sensitivity of %@: loss %.3g at noise %.2f", role, loss, epsilon))
        }
        return out
    }
}
