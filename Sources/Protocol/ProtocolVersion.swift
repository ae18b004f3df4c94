/// Identity and limits of the wire contract defined in proto/uqcit/v2/messages.proto.
public enum WireProtocol {
    /// Carried in every envelope; a peer speaking another version is refused before its body is trusted.
    public static let version: UInt32 = 2
    public static let name = "uqcit.v2"

    /// Largest `Chunk.data` a sender may put in one message (stream storage mode).
    public static let maxChunkDataBytes = 16 * 1024 * 1024

    /// A ZMQ_MAXMSGSIZE that admits every legal envelope: the largest chunk plus room for its other fields.
    public static let maxFrameBytes = Int64(maxChunkDataBytes + 64 * 1024)
}

extension Uqcit_V2_Envelope {
    /// An envelope stamped with the current protocol version.
    public init(jobID: String, body: OneOf_Body) {
        self.init()
        protocolVersion = WireProtocol.version
        self.jobID = jobID
        self.body = body
    }
}
