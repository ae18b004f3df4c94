import Foundation
import Engine
import Pipeline

/// The `auto` profile's allocation: once every quantized tensor's MEASURE task has reported each candidate's
/// relative error and exact bytes, choose one candidate per tensor so that the layers/ folder meets the budget
/// at the least loss (each tensor's loss weighted by its measured output sensitivity when one is given, else
/// by its size). It runs inside the job, between the MEASURE and ANALYZE tasks, so it works on the cluster too.
public enum AutoProfile {
    /// Bytes a quantized tensor adds beyond its arrays (its weights.quant header entries and its rotation,
    /// precision and cluster JSON): 2.7 KB measured on tiny-llama's auto packages, rounded up. Kept out of the
    /// array budget so that the layers/ folder meets the target.
    static let overheadPerTensor = 3000
    /// The same for a tensor kept as stored: its header entry and metadata (0.3 KB measured on MiniLM), rounded up.
    static let overheadPerStoredTensor = 500

    public static func allocation(targetBitsPerWeight target: Double, sensitivity: [String: Double]? = nil,
                                  report: @escaping @Sendable (String) -> Void = { _ in }) -> BitAllocation {
        { measurements, plan in
            let weights = plan.assignments.indices.filter { plan.assignments[$0].isQuantized }
            let countsGGUF = countsGGUFBytes(plan.profile)
            let fixedBytes = plan.assignments.filter { !$0.isQuantized }.reduce(0) { $0 + storedBytes($1.tensor.entry, inGGUF: countsGGUF) }
            let overhead = countsGGUF ? 0 : overheadPerTensor * weights.count + overheadPerStoredTensor * (plan.assignments.count - weights.count)
            let total = plan.totalParameters
            let budget = Int(target * Double(total) / 8) - fixedBytes - overhead
            let menu = try weights.map { i in
                guard let m = measurements[i] else { throw JobError.invalid("no MEASURE result for tensor '\(plan.assignments[i].name)'") }
                return m
            }
            let loss = weights.map { sensitivity?[plan.assignments[$0].name] ?? Double(plan.assignments[$0].tensor.entry.elementCount) }
            let (policies, bytes) = try choose(weights, menu: menu, loss: loss, budget: budget, fixedBytes: fixedBytes + overhead,
                                               parameters: total, target: target, plan: plan)
            report(String(format: "auto: %d tensors allocated, planned %.3f bits per weight (%@) for a %.3f target", weights.count,
                          Double(bytes * 8) / Double(total), countsGGUF ? "the GGUF file's tensors" : "the layers/ folder", target))
            return policies
        }
    }

    /// Over ggml types only (gguf-auto) the target is the exported GGUF file's bits per weight over its tensors,
    /// the number llama-quantize's mixes are compared by: a package's JSON metadata per tensor (3 KB, which on a
    /// 3M-parameter model is 0.2 bits per weight) never reaches that file, so it is not budgeted.
    static func countsGGUFBytes(_ profile: Profile) -> Bool {
        guard let candidates = profile.candidates, !candidates.isEmpty else { return false }
        return candidates.allSatisfy { $0.ggml != nil }
    }

    /// A tensor kept as stored: its bytes in the package, or in the GGUF file, where 1-D tensors become F32.
    static func storedBytes(_ entry: TensorEntry, inGGUF: Bool) -> Int {
        inGGUF && entry.shape.count < 2 ? 4 * entry.elementCount : entry.end - entry.begin
    }

    /// A calibrated auto job's allocation, made for one block's linears once their MEASURE tasks have scored
    /// each candidate by output error through the block's H (captured on what the quantized blocks before it
    /// produce): their arrays get `target` bits per weight between them, spent where the output error per byte
    /// falls fastest (loss = parameters * relative output error²). Every block gets the same share, since the
    /// blocks after it are not measured yet.
    /// Over ggml types only (gguf-auto) `target` is the GGUF file's bits per weight, as without calibration; each
    /// block's linears then get the share of it that the tensors outside the choice leave (`linearShare`).
    public static func blockAllocation(targetBitsPerWeight target: Double, report: @escaping @Sendable (String) -> Void = { _ in }) -> BitAllocation {
        { measurements, plan in
            let tensors = measurements.keys.sorted()
            let menu = tensors.map { measurements[$0]! }
            let parameters = tensors.reduce(0) { $0 + plan.assignments[$1].tensor.entry.elementCount }
            let share = countsGGUFBytes(plan.profile) ? try linearShare(ofFileTarget: target, plan: plan) : target
            let budget = Int(share * Double(parameters) / 8)
            let loss = tensors.map { Double(plan.assignments[$0].tensor.entry.elementCount) }
            let policies: [String: LevelPolicy], bytes: Int
            do {
                (policies, bytes) = try choose(tensors, menu: menu, loss: loss, budget: budget, fixedBytes: 0,
                                               parameters: parameters, target: share, plan: plan)
            } catch JobError.invalid(let reason) where share != target {
                throw JobError.invalid(reason + String(format: "; %.3f is the block linears' share of %.3f over the GGUF file", share, target))
            }
            let folder = tensors.first.map { plan.assignments[$0].folder } ?? ""
            report(String(format: "auto: %@: %d tensors allocated, %.3f bits per weight for a %.3f target%@", folder, tensors.count,
                          Double(bytes * 8) / Double(max(parameters, 1)), share,
                          share == target ? "" : String(format: " (the block linears' share of %.3f over the GGUF file)", target)))
            return policies
        }
    }

    /// The bits per weight every calibrated block's linears may spend so that the GGUF file meets `target` over
    /// all its tensors: the file's budget less what the tensors outside the choice take there (norms as F32,
    /// embeddings and head in the profile's fixed type), spread over the linears.
    static func linearShare(ofFileTarget target: Double, plan: JobPlan) throws -> Double {
        guard let calibration = plan.calibration else { return target }
        let linears = Set(calibration.blocks.flatMap(\.linears.values).filter(plan.awaitsAllocation))
        var fixedBytes = 0, linearParameters = 0
        for (i, a) in plan.assignments.enumerated() {
            let entry = a.tensor.entry
            if linears.contains(i) { linearParameters += entry.elementCount }
            else if let rowBytes = a.policy?.ggml?.rowBytes(columns: entry.columns) { fixedBytes += rowBytes * entry.rows }
            else { fixedBytes += storedBytes(entry, inGGUF: true) }
        }
        let share = (target * Double(plan.totalParameters) / 8 - Double(fixedBytes)) * 8 / Double(max(linearParameters, 1))
        guard share > 0 else {
            throw JobError.invalid(String(format: "a target of %.3f bits per weight is below what the tensors outside the choice take alone (%.3f)",
                                          target, Double(fixedBytes * 8) / Double(plan.totalParameters)))
        }
        return share
    }

    /// BitAllocator's choice for `tensors` (their menus in the same order) within `budget` bytes of arrays: the
    /// chosen policies by tensor name and the bytes they come to with `fixedBytes` added. A budget below the
    /// cheapest choice is refused with the bits per weight over `parameters` that the cheapest would give.
    static func choose(_ tensors: [Int], menu: [[CandidateMeasurement]], loss: [Double], budget: Int, fixedBytes: Int,
                       parameters: Int, target: Double, plan: JobPlan) throws -> (policies: [String: LevelPolicy], bytes: Int) {
        guard let choice = BitAllocator.allocate(menu, weights: loss, budgetBytes: budget) else {
            let cheapest = menu.reduce(0) { $0 + ($1.map(\.bytes).min() ?? 0) } + fixedBytes
            throw JobError.invalid(String(format: "a target of %.3f bits per weight is below what the cheapest candidates give (%.3f)",
                                          target, Double(cheapest * 8) / Double(parameters)))
        }
        let policies = zip(zip(tensors, menu), choice).map { (plan.assignments[$0.0].name, $0.1[$1.candidate].policy) }
        return (Dictionary(uniqueKeysWithValues: policies), choice.reduce(0) { $0 + $1.bytes } + fixedBytes)
    }
}
