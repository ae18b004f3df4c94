/// How the broker believes the files a result names. Every real job verifies: each staged file is hashed
/// (size and SHA-256) before its result is journaled, and the assembler checks again before reading it. The one
/// exception is a file an embedded worker of this very process hashed as it wrote it (EmbeddedPeers): only the
/// assembler's check reads that one back.
/// `accounted` exists for `coordinator simulate` alone, which sets it in its own process (`SimulatedJob`):
/// nothing in a config file or on the wire can select it, and `ResultValidator.check` still runs on every field.
enum StagedOutputs: Sendable {
    case verified
    /// Outputs are names, sizes and digests to add up, not files: a simulated 335 GB package is never written.
    case accounted
}
