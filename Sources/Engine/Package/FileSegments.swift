/// One piece of a file recorded by segments: `length` bytes of the file whose SHA-256, taken over `prefix`, then
/// those bytes, then `suffix` (hex; bytes the file does not hold), is `sha256`.
public struct FileSegment: Codable, Sendable, Equatable {
    public var length: Int
    public var prefix: String
    public var suffix: String
    public var sha256: String

    public init(length: Int, prefix: String = "", suffix: String = "", sha256: String) {
        self.length = length; self.prefix = prefix; self.suffix = suffix; self.sha256 = sha256
    }
}

/// A file identified by consecutive segments rather than by one SHA-256 of the whole. A package folder's
/// weights.quant is journaled this way: the bytes of each ggml tile were checked against the digest of the staged
/// tile they came from as they were copied in, so that digest, with the tile's container bytes around them as
/// prefix and suffix, stands for them in the package too, and the package file is not hashed a second time. The
/// check is as strong as one digest of the whole file: every byte is under a SHA-256 and the segments must cover
/// the file exactly.
public enum FileSegments {
    /// Whether the file at `path` is `size` bytes and exactly these segments, each hashing as recorded.
    public static func verify(_ segments: [FileSegment], path: String, size: Int) -> Bool {
        // Lengths come from a journal on disk: summed with overflow checked, so a forged one is a mismatch, not a trap.
        var covered = 0
        for s in segments {
            guard s.length >= 0, isBytes(s.prefix), isBytes(s.suffix) else { return false }
            let (sum, overflow) = covered.addingReportingOverflow(s.length)
            guard !overflow else { return false }
            covered = sum
        }
        guard covered == size, let file = try? PositionalFile(path: path), file.size == size else { return false }
        var offset = 0
        for s in segments {
            var h = Digest.SHA256Stream()
            h.update(Digest.bytes(hex: s.prefix))
            guard (try? file.forEachChunk(offset: offset, count: s.length, chunk: 4 << 20, { h.update($0) })) != nil else { return false }
            h.update(Digest.bytes(hex: s.suffix))
            guard h.hexDigest() == s.sha256 else { return false }
            offset += s.length
        }
        return true
    }

    /// One digest naming the whole list, for the record's `sha256`: a change to any segment changes it.
    public static func listDigest(_ segments: [FileSegment]) -> String {
        var h = Digest.SHA256Stream()
        h.update(Array("file-segments 1\n".utf8))
        for s in segments { h.update(Array("\(s.length) \(s.prefix) \(s.suffix) \(s.sha256)\n".utf8)) }
        return h.hexDigest()
    }

    /// Whole bytes as `Digest.hex` writes them.
    static func isBytes(_ hex: String) -> Bool {
        hex.utf8.count % 2 == 0 && Digest.isLowercaseHex(hex)
    }
}
