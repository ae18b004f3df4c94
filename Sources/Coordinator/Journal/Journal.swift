import Foundation
import Engine
#if canImport(Glibc)
import Glibc
#endif

/// The job journal, `<out>/.uqcit/journal`: append-only records, each `[u32 length][u32 CRC-32][JSON]` (little
/// endian). Commit records are fsynced before `append` returns. A record that is short or fails its CRC at the
/// end of the file (followed by nothing, or only zeros) is a write a crash cut off: replay stops there and opening
/// for append cuts it away. A bad record with intact bytes after it is corruption, and reading the journal fails.
/// Thread-safe: the broker thread and the assembling thread both append.
public final class Journal: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private let lock = NSLock()
    /// A commit record appended with `deferringSync` is not on disk yet (guarded by `lock`).
    private var unsynced = false

    /// Opens (creating if needed) for appending after the last intact record: `intactBytes` when a replay has
    /// just found it, else found here by decoding every record.
    public init(path: String, intactBytes: Int? = nil) throws {
        self.path = path
        let intact = try intactBytes ?? JournalReader.forEach(path: path) { (try? PackageJSON.decode(JournalRecord.self, from: Array($0))) != nil }.intactBytes
        // O_APPEND: every write lands at the end, whatever else holds the file open.
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PackageError.io(path: path, reason: String(cString: strerror(errno))) }
        guard ftruncate(fd, off_t(intact)) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw PackageError.io(path: path, reason: "cannot cut the torn tail: \(reason)")
        }
        do { try AtomicFileWriter.syncFolder(of: path) } catch { close(fd); throw error }
    }

    deinit { close(fd) }

    /// Compact JSON: a DeepSeek-V3 job journals 45,813 analyses, each with its list of high-precision columns.
    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    /// `deferringSync`: a commit record waits for `syncDeferred()`, so that a batch of results costs one fsync
    /// (group commit); the caller must sync before acting on it. Any later fsync covers it too: the file is
    /// written in order.
    public func append(_ record: JournalRecord, deferringSync: Bool = false) throws {
        let payload = [UInt8](try Self.encoder.encode(record))
        var frame = [UInt8]()
        frame.reserveCapacity(payload.count + 8)
        for v in [UInt32(payload.count), CRC32.checksum(payload)] {
            for k in 0..<4 { frame.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) }
        }
        frame += payload
        try lock.withLock {
            var off = 0
            while off < frame.count {
                let n = frame.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, frame.count - off) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PackageError.io(path: path, reason: "append: \(String(cString: strerror(errno)))")
                }
                off += n
            }
            if record.isCommit && deferringSync {
                unsynced = true
            } else if record.isCommit {
                try sync()
            }
        }
    }

    /// Puts the commit records appended with `deferringSync` on disk.
    public func syncDeferred() throws {
        try lock.withLock { if unsynced { try sync() } }
    }

    /// Under `lock`.
    private func sync() throws {
        guard fsync(fd) == 0 else { throw PackageError.io(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
        unsynced = false
    }

    public struct Contents: Sendable {
        public var records: [JournalRecord]
        /// Bytes of the file covered by intact records; anything after is a torn write.
        public var intactBytes: Int
        public var fileBytes: Int
    }

    /// Every intact record, in order. A missing file is an empty journal; a corrupt record before the tail
    /// throws, naming the journal and the record's byte offset. Holds the whole journal: replay and status
    /// stream it with `JournalReader` instead.
    public static func read(path: String) throws -> Contents {
        var records: [JournalRecord] = []
        let (intact, size) = try JournalReader.forEach(path: path) { payload in
            guard let r = try? PackageJSON.decode(JournalRecord.self, from: Array(payload)) else { return false }
            records.append(r)
            return true
        }
        return Contents(records: records, intactBytes: intact, fileBytes: size)
    }
}
