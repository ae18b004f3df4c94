import Foundation
import Engine

/// Resolves the `auto` profile for one checkpoint: measures every candidate on every weight (MEASURE steps,
/// run in parallel), allocates the budget (each tensor's loss weighted by its measured output sensitivity
/// when the caller has one, else by its size), and returns the profile with per-tensor overrides. The result is a
/// plain profile, so the job that follows runs like any other and is just as deterministic.
public enum AutoProfile {
    /// Bytes a quantized tensor adds beyond its arrays (its weights.quant header entries and its rotation,
    /// precision and cluster JSON): 2.7 KB measured on tiny-llama's auto packages, rounded up. Kept out of the
    /// array budget so that the layers/ folder meets the target.
    static let overheadPerTensor = 3000
    /// The same for a tensor kept as stored: its header entry and metadata (0.3 KB measured on MiniLM), rounded up.
    static let overheadPerStoredTensor = 500

    public struct Resolution: Sendable {
        public var profile: Profile
        public var plannedBitsPerWeight: Double
    }

    public static func resolve(_ checkpoint: Checkpoint, profile: Profile, targetBitsPerWeight target: Double,
                               workers: Int, sensitivity: [String: Double]? = nil, source: TensorRowSource? = nil) throws -> Resolution {
        guard let candidates = profile.candidates, !candidates.isEmpty else {
            throw JobError.invalid("profile \(profile.name) has no candidates: the auto allocation needs a candidate list")
        }
        BLASThreads.useOne()
        var base = profile
        base.overrides = nil
        let plan = try JobPlan(checkpoint: checkpoint, profile: base)
        let src = source ?? checkpoint
        let weights = plan.assignments.filter { $0.tensor.entry.shape.count >= 2 && $0.tensor.entry.dtype.isSupportedFloat && $0.level > 0 && !profile.keepSource.contains($0.role) }
        let names = Set(weights.map(\.name))
        let fixedBytes = plan.assignments.filter { !names.contains($0.name) }.reduce(0) { $0 + $1.tensor.entry.end - $1.tensor.entry.begin }
        let results = try Parallel.map(weights.count) { i in
            try MeasureStep.run(MeasureSpec(tensor: weights[i].tensor, candidates: candidates, rotation: profile.rotation.enabled,
                                            sampleRows: profile.rotation.sampleRows), source: src)
        }
        let total = plan.totalParameters
        let overhead = overheadPerTensor * weights.count + overheadPerStoredTensor * (plan.assignments.count - weights.count)
        let budget = Int(target * Double(total) / 8) - fixedBytes - overhead
        guard let choice = BitAllocator.allocate(results, weights: weights.map { sensitivity?[$0.name] ?? Double($0.tensor.entry.elementCount) }, budgetBytes: budget) else {
            let cheapest = results.reduce(0) { $0 + ($1.map(\.bytes).min() ?? 0) } + fixedBytes + overhead
            throw JobError.invalid(String(format: "--target-bpw %.3f is below what the cheapest candidates give (%.3f bits per weight)", target, Double(cheapest * 8) / Double(total)))
        }
        var resolved = profile
        resolved.targetBitsPerWeight = target
        resolved.overrides = Dictionary(uniqueKeysWithValues: zip(weights, choice).map { ($0.name, candidates[$1.candidate]) })
        let bytes = choice.reduce(0) { $0 + $1.bytes } + fixedBytes + overhead
        return Resolution(profile: resolved, plannedBitsPerWeight: Double(bytes * 8) / Double(total))
    }
}
