import Foundation
import UQCITProtocol
import XCTest

final class RouterDealerTests: XCTestCase {
    func testMultipartRoundTripOverLoopback() throws {
        let context = try ZMQContext()
        let router = try makeSocket(context, .router, [.routerMandatory(true)])
        let endpoint = try bindLoopback(router)
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
        let dealer = try makeSocket(context, .dealer, [.routingId(bytes("worker-1"))])
        try dealer.connect(endpoint)

        XCTAssertTrue(try dealer.send(frames: [bytes("hello"), [], [0, 1, 2]]))
        let request = try XCTUnwrap(try router.receive(timeoutMs: 2000))
        XCTAssertEqual(request, [bytes("worker-1"), bytes("hello"), [], [0, 1, 2]])

        XCTAssertTrue(try router.send(frames: [bytes("worker-1"), bytes("welcome"), bytes("!")]))
        XCTAssertEqual(try dealer.receive(timeoutMs: 2000), [bytes("welcome"), bytes("!")])
        XCTAssertNil(try dealer.receive(timeoutMs: 0), "nothing else queued")
    }

    func testPollerReportsWhichSocketIsReadable() throws {
        let context = try ZMQContext()
        let quiet = try makeSocket(context, .pair)
        let busy = try makeSocket(context, .pair)
        let sender = try makeSocket(context, .pair)
        try quiet.bind("inproc://quiet")
        try busy.bind("inproc://busy")
        try sender.connect("inproc://busy")
        let poller = ZMQPoller([quiet, busy])

        XCTAssertEqual(try poller.readable(timeoutMs: 50), [], "times out when nothing is queued")
        XCTAssertTrue(try sender.send(frames: [bytes("ping")]))
        XCTAssertEqual(try poller.readable(timeoutMs: 2000), [1])
        XCTAssertEqual(try busy.receive(timeoutMs: 0), [bytes("ping")])
    }

    func testRouterMandatoryRefusesUnknownPeer() throws {
        let context = try ZMQContext()
        let router = try makeSocket(context, .router, [.routerMandatory(true)])
        _ = try bindLoopback(router)
        XCTAssertThrowsError(try router.send(frames: [bytes("nobody"), bytes("task")], dontWait: true)) { error in
            let zmqError = error as? ZMQError
            XCTAssertEqual(zmqError?.errno, EHOSTUNREACH, "\(error)")
            XCTAssertTrue(zmqError?.description.contains("send frame 1 of 2") ?? false, "\(error)")
        }
    }

    func testOversizeFrameIsDroppedAndOtherPeersAreStillServed() throws {
        let context = try ZMQContext()
        let router = try makeSocket(context, .router, [.routerMandatory(true), .maxMessageSize(bytes: 1024)])
        let endpoint = try bindLoopback(router)
        let rogue = try makeSocket(context, .dealer, [.routingId(bytes("rogue"))])
        let worker = try makeSocket(context, .dealer, [.routingId(bytes("worker"))])
        try rogue.connect(endpoint)
        try worker.connect(endpoint)

        XCTAssertTrue(try rogue.send(frames: [[UInt8](repeating: 7, count: 4096)]), "the sender sees success")
        XCTAssertTrue(try worker.send(frames: [bytes("ready")]))

        XCTAssertEqual(try router.receive(timeoutMs: 2000), [bytes("worker"), bytes("ready")])
        XCTAssertNil(try router.receive(timeoutMs: 300), "the oversize frame never arrives")
        XCTAssertTrue(try router.send(frames: [bytes("worker"), bytes("task")]))
        XCTAssertEqual(try worker.receive(timeoutMs: 2000), [bytes("task")])
    }

    func testSixteenMiBChunkRoundTrip() throws {
        let context = try ZMQContext()
        let router = try makeSocket(context, .router, [.routerMandatory(true), .maxMessageSize(bytes: WireProtocol.maxFrameBytes)])
        let endpoint = try bindLoopback(router)
        let dealer = try makeSocket(context, .dealer, [.routingId(bytes("streamer"))])
        try dealer.connect(endpoint)

        var data = Data(count: WireProtocol.maxChunkDataBytes)
        data.withUnsafeMutableBytes { buffer in
            for index in stride(from: 0, to: buffer.count, by: 4093) { buffer[index] = UInt8(truncatingIfNeeded: index / 4093) }
        }
        let chunk = Uqcit_V2_Envelope(jobID: "job", body: .chunk(.with {
            $0.taskID = "quantize/t"
            $0.attempt = 1
            $0.fileName = "t.tile-0"
            $0.offset = 0
            $0.data = data
            $0.last = true
        }))

        XCTAssertTrue(try dealer.send(frames: [try EnvelopeCodec.encode(chunk)]))
        let received = try XCTUnwrap(try router.receive(timeoutMs: 5000))
        XCTAssertEqual(received.count, 2)
        XCTAssertEqual(try EnvelopeCodec.decode(received[1]), chunk)

        XCTAssertTrue(try router.send(frames: received))
        let echoed = try XCTUnwrap(try dealer.receive(timeoutMs: 5000))
        XCTAssertEqual(try EnvelopeCodec.decode(echoed[0]).chunk.data, data)
    }
}
