/// Why a job cannot go on: a task out of attempts, or settings, plans or peers' input that make no sense.
public enum JobError: Error, CustomStringConvertible, Sendable {
    case taskFailed(task: String, tensor: String, attempts: Int, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .taskFailed(t, n, a, r): return "task \(t) (tensor '\(n)') failed after \(a) attempt(s): \(r)"
        case let .invalid(s): return s
        }
    }
}
