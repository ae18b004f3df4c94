import Foundation
import Engine
import Coordinator
import Pipeline
import UQCITProtocol

/// What a coordinator does with a worker's result, without sockets: the input is a leased TaskAssignment
/// envelope and a TaskResult envelope (a 4-byte little-endian length, the assignment, then the result). Both are
/// decoded and converted as the peers do it, and the result's outcome is checked by ResultValidator against the lease.
enum EnvelopeEntry {
    static func run(_ input: [UInt8]) {
        guard input.count >= 4 else { return }
        let n = input[0..<4].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let split = 4 + min(n, input.count - 4)
        let lease = try? EnvelopeCodec.decode(Array(input[4..<split]))
        let reply = try? EnvelopeCodec.decode(Array(input[split...]))
        guard case .taskAssignment(let a) = lease?.body, let task = try? TaskSpec(wire: a) else { return }
        _ = ResultValidator.expectedOutputs(task)
        guard case .taskResult(let r) = reply?.body, let outcome = try? TaskOutcome(wire: r) else { return }
        try? ResultValidator.check(outcome, against: task)
    }
}
