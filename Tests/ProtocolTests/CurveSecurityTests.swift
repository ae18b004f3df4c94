import Foundation
import UQCITProtocol
import XCTest

final class CurveSecurityTests: XCTestCase {
    /// A CURVE ROUTER guarded by a ZAP handler that allows `allowed` only.
    private struct Server {
        let context: ZMQContext
        let keys: CurveKeyPair
        let zap: ZAPHandler
        let router: ZMQSocket
        let monitor: ZMQMonitor
        let endpoint: String

        init(allowing allowed: [CurveKeyPair]) throws {
            context = try ZMQContext()
            keys = try CurveKeyPair.generate()
            zap = try ZAPHandler(context: context, allowedPublicKeys: Set(allowed.map(\.publicKey)))
            router = try makeSocket(context, .router, [
                .routerMandatory(true), .curveServer(true), .curveSecretKey(keys.secretKey),
                .zapDomain("uqcit"), .zapEnforceDomain(true),
            ])
            monitor = try ZMQMonitor(monitoring: router)
            endpoint = try bindLoopback(router)
        }

        func client(_ keys: CurveKeyPair, serverKey: String? = nil) throws -> ZMQSocket {
            let dealer = try makeSocket(context, .dealer, [
                .curvePublicKey(keys.publicKey), .curveSecretKey(keys.secretKey),
                .curveServerKey(serverKey ?? self.keys.publicKey),
            ])
            try dealer.connect(endpoint)
            return dealer
        }

        /// Events until one matches or two seconds pass.
        func waitForEvent(_ matches: (ZMQSocketEvent) -> Bool) throws -> ZMQSocketEvent? {
            let deadline = Date().addingTimeInterval(2)
            while Date() < deadline {
                if let event = try monitor.nextEvent(timeoutMs: 100), matches(event) { return event }
            }
            return nil
        }
    }

    func testAllowListedClientGetsReply() throws {
        let workerKeys = try CurveKeyPair.generate()
        let server = try Server(allowing: [workerKeys])
        let worker = try server.client(workerKeys)

        XCTAssertTrue(try worker.send(frames: [bytes("hello")]))
        let request = try XCTUnwrap(try server.router.receive(timeoutMs: 2000))
        XCTAssertEqual(request.last, bytes("hello"))
        XCTAssertTrue(try server.router.send(frames: [request[0], bytes("welcome")]))
        XCTAssertEqual(try worker.receive(timeoutMs: 2000), [bytes("welcome")])
        XCTAssertEqual(server.zap.takeDenials(), [])
    }

    func testClientNotInAllowListIsDeniedAndRecorded() throws {
        let server = try Server(allowing: [try CurveKeyPair.generate()])
        let strangerKeys = try CurveKeyPair.generate()
        let stranger = try server.client(strangerKeys)

        _ = try stranger.send(frames: [bytes("hello")], dontWait: true)
        XCTAssertNil(try server.router.receive(timeoutMs: 500), "nothing from a denied client")
        var denials: [ZAPDenial] = []
        XCTAssertTrue(eventually(within: 2) {
            denials += server.zap.takeDenials()
            return !denials.isEmpty
        })
        XCTAssertEqual(denials.first?.publicKey, strangerKeys.publicKey)
        XCTAssertEqual(denials.first?.mechanism, "CURVE")
        let event = try server.waitForEvent { $0.kind == .handshakeFailedAuth }
        XCTAssertEqual(event?.value, 400)
    }

    func testClientWithWrongServerKeyNeverConnects() throws {
        let workerKeys = try CurveKeyPair.generate()
        let server = try Server(allowing: [workerKeys])
        let impostorServerKey = try CurveKeyPair.generate().publicKey
        let worker = try server.client(workerKeys, serverKey: impostorServerKey)

        _ = try worker.send(frames: [bytes("hello")], dontWait: true)
        let event = try XCTUnwrap(try server.waitForEvent(\.isHandshakeFailure), "the server logs the bad handshake")
        XCTAssertTrue(event.peerAddress.hasPrefix("tcp://127.0.0.1:"), event.description)
        XCTAssertNil(try server.router.receive(timeoutMs: 300))
        XCTAssertEqual(server.zap.takeDenials(), [], "the handshake fails before authentication")
    }

    func testKeyFilesRoundTripWithPrivateSecretFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uqcit-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let publicFile = directory.appendingPathComponent("worker.key").path
        let secretFile = directory.appendingPathComponent("worker.key_secret").path

        let keys = try CurveKeyPair.generate()
        XCTAssertEqual(keys.publicKey.count, 40)
        try keys.write(publicKeyFile: publicFile, secretKeyFile: secretFile)

        XCTAssertEqual(try CurveKeyPair(publicKeyFile: publicFile, secretKeyFile: secretFile), keys)
        XCTAssertEqual(try CurveKeyPair.readPublicKey(file: publicFile), keys.publicKey)
        let mode = try FileManager.default.attributesOfItem(atPath: secretFile)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        XCTAssertFalse(try String(contentsOfFile: publicFile, encoding: .utf8).contains(keys.secretKey))
    }

    func testMismatchedKeysAreRefused() throws {
        let one = try CurveKeyPair.generate()
        let other = try CurveKeyPair.generate()
        XCTAssertThrowsError(try CurveKeyPair(publicKey: one.publicKey, secretKey: other.secretKey))
        XCTAssertThrowsError(try CurveKeyPair(publicKey: "short", secretKey: one.secretKey)) { error in
            XCTAssertEqual(error as? CurveKeyError, .invalidKey("public key has 5 characters, expected 40"))
        }
    }
}
