import Foundation
import Engine
import Pipeline

/// The `auto` profile end to end: output sensitivity per role from the runtime (when it runs this
/// architecture), candidate errors from MEASURE steps, then the budget allocation.
public enum AutoAllocation {
    public static func resolve(model: String, profile: Profile, targetBitsPerWeight target: Double, workers: Int,
                               calibration: String? = nil, progress: @escaping (String) -> Void = { _ in }) throws -> AutoProfile.Resolution {
        let sensitivity = try Sensitivity.weights(model: model, profile: profile, calibration: calibration, progress: progress)
        if sensitivity == nil { progress("no runtime for this architecture: tensors weighted by size, not by measured sensitivity") }
        let r = try AutoProfile.resolve(try Checkpoint(folder: model), profile: profile, targetBitsPerWeight: target,
                                        workers: workers, sensitivity: sensitivity)
        progress(String(format: "auto: planned %.3f bits per weight for a %.3f target", r.plannedBitsPerWeight, target))
        return r
    }
}
