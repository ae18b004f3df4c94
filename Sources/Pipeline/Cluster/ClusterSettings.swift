import Foundation
import UQCITProtocol

/// Paranoid Pirate timing: each side sends a heartbeat every `intervalMs` and declares the other dead after
/// `liveness` intervals without hearing anything from it. The coordinator's values bind its workers (Welcome).
public struct HeartbeatSettings: Sendable, Equatable {
    public var intervalMs: Int
    public var liveness: Int

    public init(intervalMs: Int = 1000, liveness: Int = 3) {
        self.intervalMs = intervalMs; self.liveness = liveness
    }

    /// What a coordinator accepts from its flags or config and a worker from a Welcome: outside these, the
    /// millisecond and count conversions for the wire and for poll timeouts would overflow.
    public static let intervalMsRange = 10...600_000
    public static let livenessRange = 1...1000

    /// The settings, or an error saying which is out of range.
    public func validated() throws(JobError) -> HeartbeatSettings {
        guard Self.intervalMsRange.contains(intervalMs) else {
            throw .invalid("heartbeat interval \(intervalMs) ms is outside \(Self.intervalMsRange.lowerBound)...\(Self.intervalMsRange.upperBound) ms")
        }
        guard Self.livenessRange.contains(liveness) else {
            throw .invalid("heartbeat liveness \(liveness) is outside \(Self.livenessRange.lowerBound)...\(Self.livenessRange.upperBound)")
        }
        return self
    }

    public var interval: TimeInterval { Double(intervalMs) / 1000 }
    /// How long a peer may stay silent before it is dead.
    public var silence: TimeInterval { interval * Double(liveness) }
}

/// The coordinator's CurveZMQ identity and the worker public keys its ZAP handler lets in.
public struct CurveServerSettings: Sendable {
    public var keys: CurveKeyPair
    public var allowedWorkerKeys: Set<String>

    public init(keys: CurveKeyPair, allowedWorkerKeys: Set<String>) {
        self.keys = keys; self.allowedWorkerKeys = allowedWorkerKeys
    }
}

/// A worker's CurveZMQ identity and the coordinator key it expects: any other server fails the handshake.
public struct CurveClientSettings: Sendable {
    public var keys: CurveKeyPair
    public var serverPublicKey: String

    public init(keys: CurveKeyPair, serverPublicKey: String) {
        self.keys = keys; self.serverPublicKey = serverPublicKey
    }
}
