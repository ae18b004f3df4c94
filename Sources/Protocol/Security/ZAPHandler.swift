import CZMQ
import Foundation

/// A client the ZAP handler turned away.
public struct ZAPDenial: Sendable, Equatable, CustomStringConvertible {
    /// The client's CURVE public key as Z85 text; nil when it did not use CURVE.
    public let publicKey: String?
    /// The client's address as libzmq reports it, e.g. "127.0.0.1".
    public let peerAddress: String
    /// The security mechanism the client used: "CURVE", "NULL" or "PLAIN".
    public let mechanism: String

    public var description: String {
        "\(mechanism) client at \(peerAddress)" + (publicKey.map { " with public key \($0)" } ?? "")
    }
}

/// Answers libzmq's authentication (ZAP, RFC 27) requests for one context: CURVE clients whose public key is in
/// the allow-list get in, everyone else is refused with status 400 and recorded.
///
/// libzmq asks whatever is bound at `endpoint` in the server socket's context, so the handler must be running
/// before a CURVE server socket binds; `init` binds before returning. It serves on its own thread until `stop()`
/// or release.
public final class ZAPHandler: Sendable {
    public static let endpoint = "inproc://zeromq.zap.01"
    /// Denials kept for `takeDenials()`; older ones are dropped so a client retrying forever costs bounded memory.
    public static let maxRecordedDenials = 1024
    /// How often the serving thread checks for `stop()`.
    private static let stopCheckIntervalMs: Int32 = 50

    public let allowedPublicKeys: Set<String>
    private let state = State()

    public init(context: ZMQContext, allowedPublicKeys: Set<String>) throws {
        let socket = try ZMQSocket(context: context, type: .reply)
        try socket.set(.linger(milliseconds: 0))
        try socket.bind(Self.endpoint)
        self.allowedPublicKeys = allowedPublicKeys
        let handoff = ZMQSocketHandoff(socket)
        let thread = Thread { [state] in
            Self.serve(socket: handoff.take(), allowedPublicKeys: allowedPublicKeys, state: state)
        }
        thread.name = "uqcit.zap"
        thread.start()
    }

    deinit { stop() }

    /// Stops serving and unbinds `endpoint`; returns once the serving thread has closed its socket. Idempotent.
    public func stop() {
        guard state.requestStop() else { return }
        state.finished.wait()
    }

    /// The denials since the last call, oldest first.
    public func takeDenials() -> [ZAPDenial] {
        state.takeDenials()
    }

    private static func serve(socket: ZMQSocket, allowedPublicKeys: Set<String>, state: State) {
        defer {
            socket.close()
            state.finished.signal()
        }
        while !state.stopRequested {
            do {
                guard let request = try socket.receive(timeoutMs: stopCheckIntervalMs) else { continue }
                let (reply, denial) = answer(request, allowedPublicKeys: allowedPublicKeys)
                if let denial { state.record(denial) }
                _ = try socket.send(frames: reply)
            } catch {
                // Only a closed or terminated context makes these calls fail; nothing is left to serve.
                return
            }
        }
    }

    /// Request frames: version, request id, domain, address, routing id, mechanism, credentials...
    /// Reply frames: version, request id, status code, status text, user id, metadata.
    static func answer(_ request: [[UInt8]], allowedPublicKeys: Set<String>) -> (reply: [[UInt8]], ZAPDenial?) {
        let version = Array("1.0".utf8)
        func reply(_ status: String, _ text: String, userId: String = "") -> [[UInt8]] {
            [version, request.count > 1 ? request[1] : [], Array(status.utf8), Array(text.utf8), Array(userId.utf8), []]
        }
        guard request.count >= 6, request[0] == version else {
            return (reply("500", "malformed ZAP request"), nil)
        }
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        guard mechanism == "CURVE", request.count == 7, request[6].count == 32 else {
            return (reply("400", "only CURVE clients are allowed"),
                    ZAPDenial(publicKey: nil, peerAddress: address, mechanism: mechanism))
        }
        let publicKey = z85(request[6])
        guard allowedPublicKeys.contains(publicKey) else {
            return (reply("400", "public key not allowed"),
                    ZAPDenial(publicKey: publicKey, peerAddress: address, mechanism: mechanism))
        }
        // The key becomes the connection's User-Id, so the server can tell which worker a message came from.
        return (reply("200", "OK", userId: publicKey), nil)
    }

    private static func z85(_ key: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: CurveKeyPair.z85Length + 1)
        _ = zmq_z85_encode(&text, key, key.count)
        return String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What the caller's thread and the serving thread share.
    private final class State: @unchecked Sendable {
        let finished = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var stopping = false
        private var denials: [ZAPDenial] = []

        var stopRequested: Bool { lock.withLock { stopping } }

        /// True for the first caller only.
        func requestStop() -> Bool {
            lock.withLock {
                defer { stopping = true }
                return !stopping
            }
        }

        func record(_ denial: ZAPDenial) {
            lock.withLock {
                if denials.count == ZAPHandler.maxRecordedDenials { denials.removeFirst() }
                denials.append(denial)
            }
        }

        func takeDenials() -> [ZAPDenial] {
            lock.withLock {
                defer { denials.removeAll() }
                return denials
            }
        }
    }
}
