import Foundation
import Engine
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// Streams a journal's framed records through a bounded buffer, so that replaying or summarising a
/// frontier-scale journal (hundreds of MB for DeepSeek-V3) never holds it whole. Framing, CRC and the torn-tail
/// rule are `Journal`'s: a bad record followed by nothing intact is a torn write, one followed by an intact
/// record is corruption.
enum JournalReader {
    /// Bytes read at a time.
    static let chunkBytes = 8 << 20

    /// Calls `body` with each payload that is whole and passes its CRC, in order. `body` returns false for a
    /// payload it cannot use (it does not decode): that record counts as bad. Returns the bytes covered by
    /// intact records and the file's size; a missing file is an empty journal.
    static func forEach(path: String, _ body: (ArraySlice<UInt8>) throws -> Bool) throws -> (intactBytes: Int, fileBytes: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { return (0, 0) }
        guard fd >= 0 else { throw PackageError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw PackageError.io(path: path, reason: String(cString: strerror(errno))) }
        let fileBytes = Int(st.st_size)
        var buffer: [UInt8] = []
        var bufferStart = 0

        /// Makes the buffer cover `count` bytes from `offset`; false when the file is shorter.
        func cover(_ offset: Int, _ count: Int) throws -> Bool {
            if offset >= bufferStart && offset + count <= bufferStart + buffer.count { return true }
            guard count <= fileBytes - offset else { return false }
            let n = min(fileBytes - offset, max(count, chunkBytes))
            buffer = [UInt8](repeating: 0, count: n)
            var got = 0
            while got < n {
                let r = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, n - got, off_t(offset + got)) }
                if r < 0 && errno == EINTR { continue }
                guard r > 0 else { throw PackageError.io(path: path, reason: "read: " + (r < 0 ? String(cString: strerror(errno)) : "the file shrank")) }
                got += r
            }
            bufferStart = offset
            return true
        }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(buffer[at - bufferStart + $1]) << (8 * UInt32($1)) } }
        /// The payload at `offset` when it is whole and passes its CRC.
        func payload(at offset: Int) throws -> ArraySlice<UInt8>? {
            guard try cover(offset, 8) else { return nil }
            let n = Int(u32(offset)), crc = u32(offset + 4)
            guard n <= fileBytes - offset - 8, try cover(offset, 8 + n) else { return nil }
            let p = buffer[(offset + 8 - bufferStart)..<(offset + 8 + n - bufferStart)]
            return CRC32.checksum(p) == crc ? p : nil
        }

        var offset = 0
        while offset + 8 <= fileBytes {
            if let p = try payload(at: offset), try body(p) {
                offset += 8 + p.count
                continue
            }
            // Bad here. Torn if no intact record follows (a crash cut the last writes); corrupt if one does.
            _ = try cover(offset, 8)
            let n = Int(u32(offset))
            let next = n <= fileBytes - offset - 8 ? offset + 8 + n : fileBytes
            guard let following = try payload(at: next), (try? PackageJSON.decode(JournalRecord.self, from: Array(following))) != nil else { break }
            throw PackageError.invalid(path: path, reason: "journal record at byte offset \(offset) (\(n) bytes) fails its CRC or does not decode, "
                                       + "and intact records follow it: the journal is corrupt, not torn; move it aside to start the job over")
        }
        return (offset, fileBytes)
    }

    /// The kind of record a payload holds, read from its first bytes without decoding it: the encoder writes
    /// an enum case as `{"<case>":{...}}`.
    static func kind(_ payload: ArraySlice<UInt8>) -> Substring? {
        guard payload.count > 3, payload.first == UInt8(ascii: "{"), payload[payload.startIndex + 1] == UInt8(ascii: "\"") else { return nil }
        let rest = payload.dropFirst(2).prefix(16)
        guard let end = rest.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return Substring(decoding: rest[..<end], as: UTF8.self)
    }

    /// The task id of a DONE record, found without decoding it: the one `"task":"` in its text (inside JSON
    /// strings a quote is always escaped, and no field of an outcome is named `task`). Nil when absent.
    static func doneTask(_ payload: ArraySlice<UInt8>) -> Substring? {
        let key = Array(#""task":""#.utf8)
        let start: Int? = payload.withUnsafeBytes { p in
            var i = 0
            while i + key.count <= p.count {
                if p[i] == key[0] && (1..<key.count).allSatisfy({ p[i + $0] == key[$0] }) { return i + key.count }
                i += 1
            }
            return nil
        }
        guard let start else { return nil }
        let rest = payload.dropFirst(start).prefix(64)
        guard let end = rest.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return Substring(decoding: rest[..<end], as: UTF8.self)
    }
}
