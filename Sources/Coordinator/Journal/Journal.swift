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

    /// Opens (creating if needed) for appending after the last intact record.
    public init(path: String) throws {
        self.path = path
        let intact = try Self.read(path: path).intactBytes
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

    public func append(_ record: JournalRecord) throws {
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
            if record.isCommit && fsync(fd) != 0 {
                throw PackageError.io(path: path, reason: "fsync: \(String(cString: strerror(errno)))")
            }
        }
    }

    public struct Contents: Sendable {
        public var records: [JournalRecord]
        /// Bytes of the file covered by intact records; anything after is a torn write.
        public var intactBytes: Int
        public var fileBytes: Int
    }

    /// Every intact record, in order. A missing file is an empty journal; a corrupt record before the tail
    /// throws, naming the journal and the record's byte offset.
    public static func read(path: String) throws -> Contents {
        guard let data = FileManager.default.contents(atPath: path) else { return Contents(records: [], intactBytes: 0, fileBytes: 0) }
        let bytes = [UInt8](data)
        var records: [JournalRecord] = []
        var off = 0
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        /// The record at `at` and where it ends, when it is whole, passes its CRC and decodes.
        func record(at: Int) -> (JournalRecord, end: Int)? {
            guard at <= bytes.count - 8 else { return nil }
            let n = Int(u32(at)), crc = u32(at + 4)
            guard n <= bytes.count - at - 8 else { return nil }
            let payload = bytes[(at + 8)..<(at + 8 + n)]
            guard CRC32.checksum(payload) == crc, let r = try? PackageJSON.decode(JournalRecord.self, from: Array(payload)) else { return nil }
            return (r, at + 8 + n)
        }
        while off + 8 <= bytes.count {
            if let (r, end) = record(at: off) {
                records.append(r)
                off = end
                continue
            }
            // Bad here. Torn if no intact record follows (a crash cut the last writes); corrupt if one does.
            let n = Int(u32(off))
            let next = n <= bytes.count - off - 8 ? off + 8 + n : bytes.count
            guard record(at: next) != nil else { break }
            throw PackageError.invalid(path: path, reason: "journal record at byte offset \(off) (\(n) bytes) fails its CRC or does not decode, "
                                       + "and intact records follow it: the journal is corrupt, not torn; move it aside to start the job over")
        }
        return Contents(records: records, intactBytes: off, fileBytes: bytes.count)
    }
}
