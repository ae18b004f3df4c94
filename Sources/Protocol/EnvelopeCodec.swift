import SwiftProtobuf

/// Turns envelopes into the single ZeroMQ frame that carries them, and back.
public enum EnvelopeCodec {
    public static func encode(_ envelope: Uqcit_V2_Envelope) throws -> [UInt8] {
        try envelope.serializedBytes()
    }

    /// Checks the version before the body so that a newer peer is reported as such, not as sending an unknown body.
    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> Uqcit_V2_Envelope {
        let envelope: Uqcit_V2_Envelope
        do {
            envelope = try Uqcit_V2_Envelope(serializedBytes: bytes)
        } catch {
            throw .malformed("\(bytes.count) bytes do not parse: \(error)")
        }
        guard envelope.protocolVersion == WireProtocol.version else {
            throw .versionMismatch(got: envelope.protocolVersion, expected: WireProtocol.version)
        }
        guard envelope.body != nil else { throw .emptyBody }
        return envelope
    }
}
