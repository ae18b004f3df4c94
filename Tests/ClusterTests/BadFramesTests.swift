import Foundation
import XCTest
@testable import Coordinator
import UQCITProtocol

/// Hostile or broken traffic on the coordinator's port: it logs who sent it and keeps serving the job.
final class BadFramesTests: XCTestCase {
    func testGarbageWrongVersionAndOversizeFramesAreLoggedAndTheJobIsUnchanged() throws {
        let out = Cluster.temporaryFolder("bad-frames")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let coordinator = try Child("coordinator", ["start", "--model", Cluster.tinyLlama, "--out", out, "--workers", "0",
                                                    "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "200", "--quiet"])
        let endpoint = try coordinator.listeningEndpoint()
        let context = try ZMQContext()

        // A ZMTP greeting naming a security mechanism that does not exist: the handshake fails, naming the peer.
        let (raw, rawAddress) = try rawTCP(endpoint)
        let greeting: [UInt8] = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0] + Array("BOGUS".utf8) + [UInt8](repeating: 0, count: 15 + 32)
        XCTAssertEqual(greeting.withUnsafeBytes { send(raw, $0.baseAddress, $0.count, 0) }, 64)
        // The address comes from the accepted socket, which libzmq may close before the monitor event is read.
        XCTAssertTrue(Cluster.eventually(within: 10) {
            ["handshake with \(rawAddress) failed: ZMTP/CURVE protocol error", "handshake with a peer that already hung up failed: ZMTP/CURVE protocol error"]
                .contains { coordinator.stderr.contains($0) }
        }, coordinator.stderr)
        // ZMTP, but the frame is not an envelope.
        let garbage = try dealer(context, endpoint)
        XCTAssertTrue(try garbage.send(frames: [Array("definitely not protobuf \u{1}\u{2}".utf8)]))
        // A well-formed envelope from a version 1 peer (JSON task specs): rejected, naming both versions.
        let future = try dealer(context, endpoint)
        var hello = Uqcit_V2_Envelope(jobID: "", body: .hello(Uqcit_V2_Hello()))
        hello.protocolVersion = 1
        XCTAssertTrue(try future.send(frames: [try EnvelopeCodec.encode(hello)]))
        let reply = try XCTUnwrap(try future.receive(timeoutMs: 5000), "the coordinator answers a wrong version")
        let reject = try EnvelopeCodec.decode(reply[0])
        XCTAssertEqual(reject.reject.reason, "protocol version mismatch: peer sent version 1, this build speaks version 2")
        // A frame over ZMQ_MAXMSGSIZE: libzmq drops the connection.
        let huge = try dealer(context, endpoint)
        XCTAssertTrue(try huge.send(frames: [[UInt8](repeating: 7, count: Int(WireProtocol.maxFrameBytes) + 1)]))
        // A message from a peer that never said Hello.
        let stranger = try dealer(context, endpoint)
        XCTAssertTrue(try stranger.send(frames: [try EnvelopeCodec.encode(Uqcit_V2_Envelope(jobID: "x", body: .ready(Uqcit_V2_Ready())))]))
        XCTAssertTrue(try EnvelopeCodec.decode(try XCTUnwrap(try stranger.receive(timeoutMs: 5000))[0]).reject.reason.contains("send Hello"))

        // Still serving: a real worker does the whole job.
        let worker = try Child("worker", ["join", endpoint, "--threads", "2", "--name", "honest"])
        XCTAssertEqual(coordinator.exitStatus(within: 60), 0, coordinator.stderr)
        XCTAssertEqual(worker.exitStatus(within: 10), 0, worker.stderr)
        close(raw)
        try Cluster.assertIdenticalToReference(out)

        let log = coordinator.stderr
        let peer = #"peer 0x[0-9a-f]+ \(tcp://127\.0\.0\.1:[0-9]+\)"#
        XCTAssertNotNil(log.range(of: peer + #": malformed uqcit\.v2 envelope"#, options: .regularExpression), log)
        XCTAssertNotNil(log.range(of: peer + ": protocol version mismatch: peer sent version 1, this build speaks version 2", options: .regularExpression), log)
        XCTAssertNotNil(log.range(of: peer + " sent Ready without Hello; rejected", options: .regularExpression), log)
        // As for the handshake above: libzmq may close the connection before the monitor event names its address.
        XCTAssertNotNil(log.range(of: #"connection from (tcp://127\.0\.0\.1:[0-9]+|a peer that already hung up) closed before it delivered a message"#,
                                  options: .regularExpression), log)
        XCTAssertEqual(try JobStatus.read(outputFolder: out).workers.map(\.name), ["honest"])
    }

    private func dealer(_ context: ZMQContext, _ endpoint: String) throws -> ZMQSocket {
        let s = try ZMQSocket(context: context, type: .dealer)
        try s.set(.linger(milliseconds: 0))
        try s.connect(endpoint)
        return s
    }

    /// A plain TCP connection and its own address as the coordinator sees it.
    private func rawTCP(_ endpoint: String) throws -> (Int32, String) {
        let port = UInt16(endpoint.split(separator: ":").last!)!
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(rc, 0)
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, "tcp://127.0.0.1:\(UInt16(bigEndian: local.sin_port))")
    }
}
