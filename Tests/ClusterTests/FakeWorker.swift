import Foundation
import XCTest
@testable import Pipeline
import UQCITProtocol

/// A hand-written worker on a DEALER socket: says what a test tells it to, including what no real worker would.
final class FakeWorker {
    let context: ZMQContext
    let socket: ZMQSocket
    private(set) var jobID = ""

    init(endpoint: String) throws {
        context = try ZMQContext()
        socket = try ZMQSocket(context: context, type: .dealer)
        try socket.set(.linger(milliseconds: 0))
        try socket.connect(endpoint)
    }

    func send(_ body: Uqcit_V2_Envelope.OneOf_Body) throws {
        XCTAssertTrue(try socket.send(frames: [try EnvelopeCodec.encode(Uqcit_V2_Envelope(jobID: jobID, body: body))]))
    }

    /// The next message that is not a heartbeat.
    func next(timeoutMs: Int32 = 10_000) throws -> Uqcit_V2_Envelope {
        while true {
            let frames = try XCTUnwrap(try socket.receive(timeoutMs: timeoutMs), "the coordinator answers")
            let e = try EnvelopeCodec.decode(frames[0])
            if case .heartbeat = e.body { continue }
            return e
        }
    }

    /// Hello, then the Welcome's job id for everything after.
    @discardableResult
    func join(name: String, threads: UInt32 = 1) throws -> Uqcit_V2_Welcome {
        var hello = Uqcit_V2_Hello(); hello.workerName = name; hello.threads = threads
        try send(.hello(hello))
        let welcome = try next()
        jobID = welcome.jobID
        return welcome.welcome
    }

    func ready(_ credits: UInt32 = 1) throws {
        var r = Uqcit_V2_Ready(); r.credits = credits
        try send(.ready(r))
    }

    /// `result` sent as the answer to `assignment` (its task id and attempt filled in).
    func result(for assignment: Uqcit_V2_TaskAssignment, _ result: Uqcit_V2_TaskResult) throws {
        var r = result; r.taskID = assignment.taskID; r.attempt = assignment.attempt
        try send(.taskResult(r))
    }

    func heartbeat() throws { try send(.heartbeat(Uqcit_V2_Heartbeat())) }

    /// Drains whatever the coordinator sent, without blocking.
    func drain() throws { while try socket.receive(timeoutMs: 0) != nil {} }
}
