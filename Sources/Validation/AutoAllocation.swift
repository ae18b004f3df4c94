import Foundation
import Engine
import Coordinator

/// The `auto` profile's allocation for one model: output sensitivity per role measured up front with the runtime
/// (when it runs this architecture), then the budget allocation that the job makes once its MEASURE tasks are in.
public enum AutoAllocation {
    public static func allocation(model: String, profile: Profile, targetBitsPerWeight target: Double, calibration: String? = nil,
                                  progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> BitAllocation {
        let sensitivity = try Sensitivity.weights(model: model, profile: profile, calibration: calibration, progress: progress)
        if sensitivity == nil { progress("no sensitivity pass for this model: tensors weighted by size, not by measured sensitivity") }
        return AutoProfile.allocation(targetBitsPerWeight: target, sensitivity: sensitivity, report: progress)
    }
}
