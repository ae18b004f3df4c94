import Foundation
import Engine
import UQCITProtocol

/// Building and naming the envelopes of the cluster conversation (proto/uqcit/v2/messages.proto); task specs and
/// outcomes convert in WireConversion*.swift.
package enum Messages {
    package static func envelope(_ jobID: String, _ body: Uqcit_V2_Envelope.OneOf_Body) -> [UInt8] {
        // Encoding a message built in memory cannot fail.
        try! EnvelopeCodec.encode(Uqcit_V2_Envelope(jobID: jobID, body: body))
    }

    package static func reject(_ jobID: String, _ reason: String) -> [UInt8] {
        var r = Uqcit_V2_Reject(); r.reason = reason
        return envelope(jobID, .reject(r))
    }

    package static func heartbeat(_ jobID: String) -> [UInt8] {
        var h = Uqcit_V2_Heartbeat(); h.sentUnixMs = UInt64(Date().timeIntervalSince1970 * 1000)
        return envelope(jobID, .heartbeat(h))
    }

    package static func ready(_ jobID: String, credits: Int) -> [UInt8] {
        var r = Uqcit_V2_Ready(); r.credits = UInt32(credits)
        return envelope(jobID, .ready(r))
    }

    package static func shutdown(_ jobID: String, _ reason: String) -> [UInt8] {
        var s = Uqcit_V2_Shutdown(); s.reason = reason
        return envelope(jobID, .shutdown(s))
    }

    /// `releasing`: stream mode's staged files the worker may remove (TaskAssignment.release_inputs).
    package static func assignment(_ jobID: String, _ task: TaskSpec, attempt: Int, releasing: [String] = []) -> [UInt8] {
        var a = Uqcit_V2_TaskAssignment(task, attempt: attempt)
        a.releaseInputs = releasing
        return envelope(jobID, .taskAssignment(a))
    }

    package static func result(_ jobID: String, _ outcome: TaskOutcome, attempt: UInt32) -> [UInt8] {
        envelope(jobID, .taskResult(Uqcit_V2_TaskResult(outcome, attempt: attempt)))
    }

    package static func failed(_ jobID: String, taskID: String, attempt: UInt32, reason: String, retryable: Bool) -> [UInt8] {
        var f = Uqcit_V2_TaskFailed()
        f.taskID = taskID; f.attempt = attempt; f.reason = reason; f.retryable = retryable
        return envelope(jobID, .taskFailed(f))
    }

    /// The message's kind for logs.
    package static func name(_ body: Uqcit_V2_Envelope.OneOf_Body?) -> String {
        switch body {
        case .hello: "Hello"
        case .welcome: "Welcome"
        case .reject: "Reject"
        case .ready: "Ready"
        case .heartbeat: "Heartbeat"
        case .taskAssignment: "TaskAssignment"
        case .taskResult: "TaskResult"
        case .taskFailed: "TaskFailed"
        case .shutdown: "Shutdown"
        case .chunk: "Chunk"
        case .chunkAck: "ChunkAck"
        case nil: "empty envelope"
        }
    }

}
