import Crypto

/// SHA-256 helpers: every file a task writes is identified by its digest, and the journal verifies them on resume.
public enum Digest {
    public static func sha256Hex(_ bytes: some Collection<UInt8>) -> String {
        hex(Array(SHA256.hash(data: Array(bytes))))
    }

    /// Memory hashed where it is, without the copy into an array the generic form makes.
    public static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var h = SHA256Stream()
        h.update(bytes)
        return h.hexDigest()
    }

    /// The bytes of a hex digest as `hex` writes it (64 hex digits for SHA-256); a malformed string is the
    /// receiver's validator's to refuse, so it is converted as is.
    public static func bytes(hex: String) -> [UInt8] {
        let u = Array(hex.utf8)
        func v(_ c: UInt8) -> UInt8 { c >= 97 ? c &- 87 : c >= 65 ? c &- 55 : c &- 48 }
        return stride(from: 0, to: u.count - 1, by: 2).map { v(u[$0]) << 4 | v(u[$0 + 1]) }
    }

    /// Whether `s` is lowercase hex digits only, as `hex` writes them (any count, none included).
    public static func isLowercaseHex(_ s: String) -> Bool {
        s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](); out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Incremental hashing for files and streams that never sit whole in memory.
    public struct SHA256Stream {
        private var hasher = SHA256()
        public init() {}
        public mutating func update(_ bytes: [UInt8]) { hasher.update(data: bytes) }
        public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
        public func digest() -> [UInt8] { Array(hasher.finalize()) }
        public func hexDigest() -> String { Digest.hex(digest()) }
    }

    /// The digest of a file, read in 4 MiB pieces.
    public static func sha256Hex(file path: String) throws(CheckpointError) -> String {
        let f = try PositionalFile(path: path)
        var h = SHA256Stream()
        try? f.forEachChunk(offset: 0, count: f.size) { h.update($0) }
        return h.hexDigest()
    }
}
