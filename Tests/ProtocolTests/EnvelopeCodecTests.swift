import SwiftProtobuf
import UQCITProtocol
import XCTest

final class EnvelopeCodecTests: XCTestCase {
    func testEveryBodyKindRoundTrips() throws {
        let bodies = Self.sampleBodies()
        XCTAssertEqual(Set(bodies.map(Self.kindName)).count, 11, "one sample per body kind")
        for body in bodies {
            let envelope = Uqcit_V2_Envelope(jobID: "job-42", body: body)
            let decoded = try EnvelopeCodec.decode(try EnvelopeCodec.encode(envelope))
            XCTAssertEqual(decoded, envelope, Self.kindName(body))
            XCTAssertEqual(decoded.protocolVersion, WireProtocol.version)
            XCTAssertEqual(decoded.jobID, "job-42")
        }
    }

    func testGarbageIsMalformed() {
        // 0xFF is field 31 with wire type 7, which does not exist.
        assertDecodeFails([0xFF, 0xFF, 0xFF]) { error in
            guard case .malformed(let detail) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(detail.contains("3 bytes"), detail)
        }
    }

    func testTruncatedEnvelopeIsMalformed() throws {
        let envelope = Uqcit_V2_Envelope(jobID: "job", body: .reject(.with { $0.reason = "too old" }))
        let encoded = try EnvelopeCodec.encode(envelope)
        assertDecodeFails(Array(encoded.dropLast(3))) { error in
            guard case .malformed = error else { return XCTFail("got \(error)") }
        }
    }

    func testOtherVersionIsRefusedNamingBoth() throws {
        var envelope = Uqcit_V2_Envelope(jobID: "job", body: .heartbeat(.with { $0.sentUnixMs = 1 }))
        envelope.protocolVersion = 1
        assertDecodeFails(try EnvelopeCodec.encode(envelope)) { error in
            XCTAssertEqual(error, .versionMismatch(got: 1, expected: 2))
            XCTAssertTrue(error.description.contains("version 2"), error.description)
            XCTAssertTrue(error.description.contains("version 1"), error.description)
        }
    }

    func testEnvelopeWithoutBodyIsRefused() throws {
        var envelope = Uqcit_V2_Envelope()
        envelope.protocolVersion = WireProtocol.version
        assertDecodeFails(try EnvelopeCodec.encode(envelope)) { XCTAssertEqual($0, .emptyBody) }
    }

    private func assertDecodeFails(
        _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line, _ check: (ProtocolError) -> Void
    ) {
        do {
            let envelope = try EnvelopeCodec.decode(bytes)
            XCTFail("decoded \(envelope)", file: file, line: line)
        } catch {
            check(error)
        }
    }

    private static func kindName(_ body: Uqcit_V2_Envelope.OneOf_Body) -> String {
        switch body {
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .reject: return "reject"
        case .ready: return "ready"
        case .heartbeat: return "heartbeat"
        case .taskAssignment: return "taskAssignment"
        case .taskResult: return "taskResult"
        case .taskFailed: return "taskFailed"
        case .shutdown: return "shutdown"
        case .chunk: return "chunk"
        case .chunkAck: return "chunkAck"
        }
    }

    private static func sampleBodies() -> [Uqcit_V2_Envelope.OneOf_Body] {
        [
            .hello(.with {
                $0.workerName = "node-3"
                $0.threads = 16
                $0.memoryBytes = 64 << 30
                $0.backends = ["cpu"]
                $0.storageMode = "shared"
            }),
            .welcome(.with {
                $0.coordinatorName = "coordinator"
                $0.heartbeatIntervalMs = 1000
                $0.heartbeatLiveness = 4
                $0.storageMode = "shared"
                $0.stagingDir = "/scratch/job/staging"
                $0.sourceDir = "/models/source"
            }),
            .reject(.with { $0.reason = "protocol version 2 unsupported" }),
            .ready(.with { $0.credits = 2 }),
            .heartbeat(.with { $0.sentUnixMs = 1_700_000_000_000 }),
            .taskAssignment(.with {
                $0.taskID = "Q3.1"
                $0.attempt = 2
                $0.tensorIndex = 3
                $0.quantize = .with {
                    $0.tensor = .with {
                        $0.file = "model-00001.safetensors"
                        $0.name = "layer.0.weight"
                        $0.begin = 4096
                        $0.end = 4096 + 8 << 20
                        $0.dtype = "BF16"
                        $0.shape = [2048, 2048]
                    }
                    $0.policy = .with { $0.pattern = "10-90"; $0.high = .int8; $0.low = .int4; $0.highFraction = 0.1; $0.ggmlType = 12 }
                    $0.granularity = .channel
                    $0.analysis = .with { $0.rotation = .with { $0.kind = "gi-block-hadamard"; $0.block = 2048; $0.seed = 7; $0.size = 2048 } }
                    $0.tile = 1
                    $0.rowStart = 512
                    $0.rowCount = 512
                }
            }),
            .taskResult(.with {
                $0.taskID = "C0"
                $0.attempt = 1
                $0.outputs = [.with {
                    $0.name = "t0/lowrank.st"
                    $0.size = 123_456
                    $0.sha256 = Data(repeating: 0xAB, count: 32)
                    $0.streamed = true
                }]
                $0.seconds = 1.5
                $0.compensation = .with { $0.rank = 8; $0.errorSumSquaresAfter = 0.25 }
            }),
            .taskFailed(.with {
                $0.taskID = "compensate/layer.1"
                $0.attempt = 3
                $0.reason = "NaN in source tensor"
                $0.retryable = false
            }),
            .shutdown(.with { $0.reason = "job finished" }),
            .chunk(.with {
                $0.taskID = "quantize/layer.0.weight/tile-3"
                $0.attempt = 1
                $0.fileName = "layer.0.weight.tile-3"
                $0.offset = 16 << 20
                $0.data = Data([1, 2, 3, 4])
                $0.last = true
            }),
            .chunkAck(.with {
                $0.taskID = "quantize/layer.0.weight/tile-3"
                $0.credits = 4
            }),
        ]
    }
}
