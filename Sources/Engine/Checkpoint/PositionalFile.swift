#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file read with pread at explicit offsets. Reads copy only the rows asked for, so a worker's
/// memory is bounded by its tile, not by the shard (a memory map would count every touched page as resident).
public final class PositionalFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    private let fd: Int32

    public init(path: String) throws(CheckpointError) {
        self.path = path
        (fd, size) = try Self.openRegularFile(path)
    }

    /// `path` opened read-only, with `extraFlags` where the filesystem takes them (else without), and checked to be
    /// a regular file: its descriptor and size.
    static func openRegularFile(_ path: String, extraFlags: Int32 = 0) throws(CheckpointError) -> (fd: Int32, size: Int) {
        var d = open(path, O_RDONLY | extraFlags)
        if d < 0 && errno == EINVAL && extraFlags != 0 { d = open(path, O_RDONLY) }
        guard d >= 0 else { throw .missingFile(path) }
        var st = stat()
        guard fstat(d, &st) == 0 else { close(d); throw .unreadable(file: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { close(d); throw .unreadable(file: path, reason: "not a regular file") }
        return (d, Int(st.st_size))
    }

    deinit { close(fd) }

    public func read(offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CheckpointError) {
        guard offset >= 0, offset <= size, buffer.count <= size - offset else {
            throw .unreadable(file: path, reason: "read of \(buffer.count) bytes at \(offset) runs past the end (\(size) bytes)")
        }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .unreadable(file: path, reason: n == 0 ? "unexpected end of file" : String(cString: strerror(errno))) }
            done += n
        }
    }

    public func read(offset: Int, count: Int) throws(CheckpointError) -> [UInt8] {
        // Checked before the allocation: a count from a corrupt header must not reach [UInt8](repeating:count:).
        guard count >= 0, offset >= 0, offset <= size, count <= size - offset else {
            throw .unreadable(file: path, reason: "read of \(count) bytes at \(offset) lies outside the file (\(size) bytes)")
        }
        // Filled by pread or dropped with its error: no zero fill first.
        return try [UInt8](unsafeUninitializedCapacity: count) { (p, initialized) throws(CheckpointError) in
            if count > 0 { try read(offset: offset, into: UnsafeMutableRawBufferPointer(p)) }
            initialized = count
        }
    }

    /// Calls `body` on consecutive pieces of [offset, offset + count), at most `chunk` bytes each.
    public func forEachChunk(offset: Int, count: Int, chunk: Int = 8 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buf = [UInt8](repeating: 0, count: min(chunk, max(count, 0)))
        var done = 0
        while done < count {
            let n = min(chunk, count - done)
            try buf.withUnsafeMutableBytes { p in
                let part = UnsafeMutableRawBufferPointer(rebasing: p[0..<n])
                try read(offset: offset + done, into: part)
                try body(UnsafeRawBufferPointer(part))
            }
            done += n
        }
    }
}
