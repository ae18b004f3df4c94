import Foundation
import Engine
#if canImport(Glibc)
import Glibc
#endif

/// The job journal, `<out>/.uqcit/journal`: append-only records, each `[u32 length][u32 CRC-32][JSON]` (little
/// endian). Commit records are fsynced before `append` returns. Replay stops at the first record that is
/// short or fails its CRC (a write a crash cut off); opening for append cuts that torn tail away.
/// Thread-safe: the broker thread and the assembling thread both append.
public final class Journal: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private let lock = NSLock()

    /// Opens (creating if needed) for appending after the last intact record.
    public init(path: String) throws {
        self.path = path
        let intact = try Self.read(path: path).intactBytes
        fd = open(path, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { throw PackageError.io(path: path, reason: String(cString: strerror(errno))) }
        guard ftruncate(fd, off_t(intact)) == 0, lseek(fd, 0, SEEK_END) >= 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw PackageError.io(path: path, reason: "cannot cut the torn tail: \(reason)")
        }
        AtomicFileWriter.syncFolder(of: path)
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

    /// Every intact record, in order. A missing file is an empty journal.
    public static func read(path: String) throws -> Contents {
        guard let data = FileManager.default.contents(atPath: path) else { return Contents(records: [], intactBytes: 0, fileBytes: 0) }
        let bytes = [UInt8](data)
        var records: [JournalRecord] = []
        var off = 0
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        while off + 8 <= bytes.count {
            let n = Int(u32(off)), crc = u32(off + 4)
            guard off + 8 + n <= bytes.count else { break }
            let payload = bytes[(off + 8)..<(off + 8 + n)]
            guard CRC32.checksum(payload) == crc,
                  let r = try? PackageJSON.decode(JournalRecord.self, from: Array(payload)) else { break }
            records.append(r)
            off += 8 + n
        }
        return Contents(records: records, intactBytes: off, fileBytes: bytes.count)
    }
}
