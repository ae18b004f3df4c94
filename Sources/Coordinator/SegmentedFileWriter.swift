import Engine

/// Writes a package file without a digest of the whole (AtomicFileWriter's is off), recording its segments
/// instead (`FileSegments`): bytes written here are hashed as they go, a run at a time; bytes copied from a
/// staged tile that was just verified are recorded under that tile's digest, with the tile's container bytes
/// around them, and not hashed again.
final class SegmentedFileWriter {
    private let file: AtomicFileWriter
    private var segments: [FileSegment] = []
    private var run: (length: Int, hasher: Digest.SHA256Stream)?

    init(path: String) throws {
        file = try AtomicFileWriter(path: path, digesting: false)
    }

    var bytesWritten: Int { file.bytesWritten }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try file.write(bytes)
        if run == nil { run = (0, Digest.SHA256Stream()) }
        run!.hasher.update(bytes)
        run!.length += bytes.count
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// `bytes`, whose SHA-256 after `prefix` and before `suffix` is `sha256`, already checked by the caller.
    func writeVerified(_ bytes: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer, suffix: UnsafeRawBufferPointer, sha256: String) throws {
        endRun()
        try file.write(bytes)
        segments.append(FileSegment(length: bytes.count, prefix: Digest.hex(Array(prefix)), suffix: Digest.hex(Array(suffix)), sha256: sha256))
    }

    /// fsyncs and renames the file into place; its record is one plain SHA-256 when every byte was hashed here (a
    /// package without ggml tiles is journaled as before), else its segments.
    func commit(name: String) throws -> TaskOutputFile {
        endRun()
        try file.commit()
        if segments.count <= 1, segments.allSatisfy({ $0.prefix.isEmpty && $0.suffix.isEmpty }) {
            return TaskOutputFile(name: name, size: bytesWritten, sha256: segments.first?.sha256 ?? Digest.sha256Hex([UInt8]()))
        }
        return TaskOutputFile(name: name, size: bytesWritten, sha256: FileSegments.listDigest(segments), segments: segments)
    }

    func abandon() { file.abandon() }

    private func endRun() {
        guard let r = run else { return }
        segments.append(FileSegment(length: r.length, sha256: r.hasher.hexDigest()))
        run = nil
    }
}
