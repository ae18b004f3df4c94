import CDirectIO
#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes past the page cache (O_DIRECT), for files written once and read once: a worker's staged tiles.
/// Through the cache each such byte is copied into a freshly allocated page and written back from it on fsync, in
/// the writer's own time; on a farm the tiles of a large model outlive the cache anyway. Direct I/O needs aligned
/// memory, offsets and lengths, so bytes pass through an aligned buffer, and a file's last partial block is written
/// through the cache. A filesystem that refuses O_DIRECT (tmpfs, some network filesystems) gets plain I/O instead.
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
}

/// Memory aligned for direct I/O, freed with its owner.
public final class AlignedBytes {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    /// Bytes in use, from the start.
    public internal(set) var count = 0

    init(capacity: Int) {
        var p: UnsafeMutableRawPointer?
        self.capacity = DirectIO.roundedUp(max(capacity, 1))
        guard posix_memalign(&p, DirectIO.alignment, self.capacity) == 0, let p else { fatalError("out of memory for a \(self.capacity)-byte aligned buffer") }
        base = p
    }

    deinit { free(base) }

    /// The bytes in use, valid while this object lives.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(UnsafeRawBufferPointer(start: base, count: count)) }
    }
}

/// The write half of `AtomicFileWriter` for a file opened with O_DIRECT: bytes gather in an aligned buffer and
/// leave in whole buffers; `finish` writes the rest, its aligned part directly and its tail through the cache.
final class DirectFileSink {
    private let fd: Int32
    private let path: String
    private let buffer = AlignedBytes(capacity: 1 << 20)
    private var direct = true

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var from = 0
        while from < bytes.count {
            let n = min(buffer.capacity - buffer.count, bytes.count - from)
            (buffer.base + buffer.count).copyMemory(from: bytes.baseAddress! + from, byteCount: n)
            buffer.count += n
            from += n
            if buffer.count == buffer.capacity { try drain(upTo: buffer.capacity) }
        }
    }

    func finish() throws {
        let aligned = buffer.count / DirectIO.alignment * DirectIO.alignment
        try drain(upTo: aligned)
        if buffer.count > 0 {
            DirectIO.endDirect(fd)
            direct = false
            try drain(upTo: buffer.count)
        }
    }

    /// Writes the buffer's first `length` bytes and moves the rest to its start.
    private func drain(upTo length: Int) throws {
        var off = 0
        while off < length {
            let n = Glibc.write(fd, buffer.base + off, length - off)
            if n < 0 {
                if errno == EINTR { continue }
                // The filesystem took O_DIRECT at open but refuses this transfer: the rest goes through the cache.
                if errno == EINVAL && direct { DirectIO.endDirect(fd); direct = false; continue }
                throw PackageError.io(path: path, reason: String(cString: strerror(errno)))
            }
            off += n
        }
        buffer.count -= length
        if buffer.count > 0 { buffer.base.copyMemory(from: buffer.base + length, byteCount: buffer.count) }
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
        var d = open(path, O_RDONLY | DirectIO.flag)
        if d < 0 && errno == EINVAL { d = open(path, O_RDONLY) }
        guard d >= 0 else { throw .missingFile(path) }
        var st = stat()
        guard fstat(d, &st) == 0 else { close(d); throw .unreadable(file: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { close(d); throw .unreadable(file: path, reason: "not a regular file") }
        fd = d
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// The file's `size` bytes; a file that shrank or grew since it was opened is an error.
    public func readWhole() throws(CheckpointError) -> AlignedBytes {
        let out = AlignedBytes(capacity: size)
        while out.count <= size {
            // To the end of the rounded buffer, so the last direct read asks past the file's end and gets what is there.
            let n = pread(fd, out.base + out.count, out.capacity - out.count, off_t(out.count))
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EINVAL { DirectIO.endDirect(fd); continue }
            guard n >= 0 else { throw .unreadable(file: path, reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            out.count += n
        }
        guard out.count == size else { throw .unreadable(file: path, reason: "changed size while it was read (\(size) bytes when opened)") }
        return out
    }
}
