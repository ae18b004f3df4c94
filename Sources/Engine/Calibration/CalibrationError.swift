/// Why a calibrated quantization refused its input; every case names what is wrong.
public enum CalibrationError: Error, CustomStringConvertible, Sendable, Equatable {
    case badShape(String)
    case nonFinite(String)
    case unsupported(String)
    /// H + damping * I has no Cholesky factor (H not positive semi-definite, or damping 0 on a singular H).
    case notPositiveDefinite(String)

    public var description: String {
        switch self {
        case .badShape(let s): "bad shape: \(s)"
        case .nonFinite(let s): "not finite: \(s)"
        case .unsupported(let s): "unsupported: \(s)"
        case .notPositiveDefinite(let s): "not positive definite: \(s)"
        }
    }
}
