import CDirectIO
#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes past the page cache (O_DIRECT), for files this process writes once, fsyncs and does not read
/// again: a worker's staged tiles (read once, by the assembler) and GGUF files. Through the cache each such byte
/// is copied into a freshly allocated page and written back from it on fsync, in the writer's own time; on a farm
/// the files of a large model outlive the cache anyway. Direct I/O needs aligned memory, offsets and lengths, so
/// unaligned bytes pass through an aligned buffer, and a file's last partial block is written through the cache.
/// A filesystem that refuses O_DIRECT (tmpfs on older kernels, some network filesystems) gets plain I/O instead.
enum DirectIO {
    /// Memory, offset and length alignment: 4 KiB covers 512-byte and 4 KiB logical blocks.
    static let alignment = 4096
    static let flag = uqcit_o_direct()

    static func roundedUp(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Clears O_DIRECT on `fd`, for the unaligned tail or after the filesystem refused a direct transfer.
    static func endDirect(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~flag) }
    }

    /// `bytes` (at least 1) of memory aligned for direct I/O, for `free`.
    static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, alignment, roundedUp(max(bytes, 1))) == 0, let p else { fatalError("out of memory for \(bytes) aligned bytes") }
        return p
    }
}

/// Bytes in memory aligned for direct I/O (a tile's container as a worker made it, or a file read whole),
/// written once as they are made and read only after: so they may cross threads.
public final class AlignedBytes: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    public let count: Int

    /// `fill` writes up to `capacity` bytes at the start of the memory and returns how many it wrote.
    public init<E: Error>(capacity: Int, fill: (UnsafeMutableRawPointer) throws(E) -> Int) throws(E) {
        base = DirectIO.allocate(capacity)
        do { count = try fill(base) } catch { free(base); throw error }
        precondition(count >= 0 && count <= DirectIO.roundedUp(max(capacity, 1)), "filled past the capacity")
    }

    public convenience init(copying bytes: [UInt8]) {
        self.init(capacity: bytes.count) { p in
            bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(p), byteCount: $0.count) }
            return bytes.count
        }
    }

    deinit { free(base) }

    /// The bytes, valid while this object lives.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(UnsafeRawBufferPointer(start: base, count: count)) }
    }
}

/// The write half of `AtomicFileWriter` for a file opened with O_DIRECT: bytes gather in an aligned buffer and
/// leave in whole buffers; bytes that are already aligned leave from where they are, without the copy. `finish`
/// writes the rest, its aligned part directly and its tail through the cache.
final class DirectFileSink {
    private let fd: Int32
    private let path: String
    private static let capacity = 1 << 20
    private let buffer = DirectIO.allocate(DirectFileSink.capacity)
    private var filled = 0
    private var direct = true

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { free(buffer) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var from = 0
        if filled == 0, let p = bytes.baseAddress, Int(bitPattern: p) % DirectIO.alignment == 0 {
            from = bytes.count / DirectIO.alignment * DirectIO.alignment
            try writeAll(p, from)
        }
        while from < bytes.count {
            let n = min(Self.capacity - filled, bytes.count - from)
            (buffer + filled).copyMemory(from: bytes.baseAddress! + from, byteCount: n)
            filled += n
            from += n
            if filled == Self.capacity { try writeAll(buffer, filled); filled = 0 }
        }
    }

    func finish() throws {
        let aligned = filled / DirectIO.alignment * DirectIO.alignment
        try writeAll(buffer, aligned)
        if filled > aligned {
            DirectIO.endDirect(fd)
            direct = false
            try writeAll(buffer + aligned, filled - aligned)
        }
        filled = 0
    }

    private func writeAll(_ p: UnsafeRawPointer, _ length: Int) throws {
        var off = 0
        while off < length {
            let n = Glibc.write(fd, p + off, length - off)
            if n < 0 {
                if errno == EINTR { continue }
                // The filesystem took O_DIRECT at open but refuses this transfer: the rest goes through the cache.
                if errno == EINVAL && direct { DirectIO.endDirect(fd); direct = false; continue }
                throw PackageError.io(path: path, reason: String(cString: strerror(errno)))
            }
            off += n
        }
    }
}

/// A file read whole past the page cache where the filesystem allows it, into aligned memory. Its size is the one
/// fstat gave when it was opened, so a caller can check it before anything is allocated.
public final class UncachedFile {
    public let path: String
    public let size: Int
    private let fd: Int32

    public init(path: String) throws(CheckpointError) {
        self.path = path
        (fd, size) = try PositionalFile.openRegularFile(path, extraFlags: DirectIO.flag)
    }

    deinit { close(fd) }

    /// The file's `size` bytes; a file that shrank or grew since it was opened is an error.
    public func readWhole() throws(CheckpointError) -> AlignedBytes {
        let capacity = DirectIO.roundedUp(max(size, 1))
        return try AlignedBytes(capacity: capacity) { (p) throws(CheckpointError) in
            var count = 0
            while true {
                // To the end of the rounded buffer, so the last direct read asks past the file's end and gets what is there.
                let n = pread(fd, p + count, capacity - count, off_t(count))
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EINVAL { DirectIO.endDirect(fd); continue }
                guard n >= 0 else { throw .unreadable(file: path, reason: String(cString: strerror(errno))) }
                if n == 0 { break }
                count += n
            }
            guard count == size else { throw .unreadable(file: path, reason: "changed size while it was read (\(size) bytes when opened)") }
            return count
        }
    }
}
