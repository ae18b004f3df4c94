import Foundation
import Engine
import UQCITProtocol

/// Building and naming the envelopes of the cluster conversation (proto/uqcit/v1/messages.proto).
enum Messages {
    static func envelope(_ jobID: String, _ body: Uqcit_V1_Envelope.OneOf_Body) -> [UInt8] {
        // Encoding a message built in memory cannot fail.
        try! EnvelopeCodec.encode(Uqcit_V1_Envelope(jobID: jobID, body: body))
    }

    static func reject(_ jobID: String, _ reason: String) -> [UInt8] {
        var r = Uqcit_V1_Reject(); r.reason = reason
        return envelope(jobID, .reject(r))
    }

    static func heartbeat(_ jobID: String) -> [UInt8] {
        var h = Uqcit_V1_Heartbeat(); h.sentUnixMs = UInt64(Date().timeIntervalSince1970 * 1000)
        return envelope(jobID, .heartbeat(h))
    }

    static func ready(_ jobID: String, credits: Int) -> [UInt8] {
        var r = Uqcit_V1_Ready(); r.credits = UInt32(credits)
        return envelope(jobID, .ready(r))
    }

    static func shutdown(_ jobID: String, _ reason: String) -> [UInt8] {
        var s = Uqcit_V1_Shutdown(); s.reason = reason
        return envelope(jobID, .shutdown(s))
    }

    static func assignment(_ jobID: String, _ task: TaskSpec, attempt: Int) throws -> [UInt8] {
        var a = Uqcit_V1_TaskAssignment()
        a.taskID = task.id
        a.attempt = UInt32(attempt)
        a.kind = switch task.kind { case .measure: .measure; case .analyze: .analyze; case .quantize: .quantize; case .compensate: .compensate }
        let t = task.measure?.tensor ?? task.analyze?.tensor ?? task.quantize?.tensor ?? task.compensate!.tensor
        var ref = Uqcit_V1_SourceRef()
        ref.file = t.shard; ref.tensor = t.name; ref.dtype = t.entry.dtype.rawValue
        ref.offset = UInt64(t.entry.begin); ref.length = UInt64(t.entry.end - t.entry.begin)
        ref.shape = t.entry.shape.map(UInt64.init)
        a.sources = [ref]
        a.parameters = Data(try JSONEncoder().encode(task))
        return envelope(jobID, .taskAssignment(a))
    }

    static func result(_ jobID: String, _ outcome: TaskOutcome, attempt: UInt32) throws -> [UInt8] {
        var r = Uqcit_V1_TaskResult()
        r.taskID = outcome.taskId
        r.attempt = attempt
        r.outputs = outcome.outputs.map { f in
            var o = Uqcit_V1_OutputFile()
            o.name = f.name; o.size = UInt64(f.size); o.sha256 = Data(hexBytes(f.sha256))
            return o
        }
        r.metrics = Data(#"{"seconds":\#(outcome.seconds)}"#.utf8)
        r.result = Data(try JSONEncoder().encode(outcome))
        return envelope(jobID, .taskResult(r))
    }

    static func failed(_ jobID: String, taskID: String, attempt: UInt32, reason: String, retryable: Bool) -> [UInt8] {
        var f = Uqcit_V1_TaskFailed()
        f.taskID = taskID; f.attempt = attempt; f.reason = reason; f.retryable = retryable
        return envelope(jobID, .taskFailed(f))
    }

    /// The message's kind for logs.
    static func name(_ body: Uqcit_V1_Envelope.OneOf_Body?) -> String {
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

    static func hexBytes(_ hex: String) -> [UInt8] {
        let u = Array(hex.utf8)
        func v(_ c: UInt8) -> UInt8 { c >= 97 ? c - 87 : c >= 65 ? c - 55 : c - 48 }
        return stride(from: 0, to: u.count - 1, by: 2).map { v(u[$0]) << 4 | v(u[$0 + 1]) }
    }
}
