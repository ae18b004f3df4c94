import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files are written to a temporary name, fsynced, renamed into place and the folder fsynced, so a crash leaves
/// either the old state or the complete new file, never a truncated one under the final name.
public final class AtomicFileWriter {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    public private(set) var bytesWritten = 0
    /// Nil for a writer whose file's digest no one reads (a GGUF export): SHA-256 is a pass over every byte.
    private var hasher: Digest.SHA256Stream?
    /// Set for a file written past the page cache (`uncached`).
    private var directSink: DirectFileSink?

    public static let temporarySuffix = ".uqcit-tmp"

    /// A temporary name no other writer uses: this process's pid and a per-process counter, so two writers of
    /// one path (a coordinator and a worker, or two workers) never share a temp file.
    public static func temporaryName(for path: String) -> String {
        path + ".\(getpid()).\(counter.next())" + temporarySuffix
    }
    private static let counter = TemporaryCounter()

    /// `uncached`: written with O_DIRECT where the filesystem allows it (`DirectIO`), for a file read once.
    public init(path: String, digesting: Bool = true, uncached: Bool = false) throws {
        self.path = path
        hasher = digesting ? Digest.SHA256Stream() : nil
        temporaryPath = Self.temporaryName(for: path)
        let flags = O_WRONLY | O_CREAT | O_TRUNC
        fd = uncached ? open(temporaryPath, flags | DirectIO.flag, 0o644) : -1
        if fd >= 0 {
            directSink = DirectFileSink(fd: fd, path: temporaryPath)
        } else {
            fd = open(temporaryPath, flags, 0o644)
        }
        guard fd >= 0 else { throw PackageError.io(path: temporaryPath, reason: String(cString: strerror(errno))) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let directSink {
            try directSink.write(bytes)
        } else {
            var off = 0
            while off < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PackageError.io(path: temporaryPath, reason: String(cString: strerror(errno)))
                }
                off += n
            }
        }
        hasher?.update(bytes)
        bytesWritten += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// fsync, rename into place, fsync the folder; returns the file's SHA-256, or nil from a writer made with
    /// `digesting: false`.
    @discardableResult
    public func commit() throws -> String? {
        try directSink?.finish()
        guard fsync(fd) == 0 else { throw PackageError.io(path: temporaryPath, reason: "fsync: \(String(cString: strerror(errno)))") }
        close(fd); fd = -1
        guard rename(temporaryPath, path) == 0 else { throw PackageError.io(path: path, reason: "rename: \(String(cString: strerror(errno)))") }
        try AtomicFileWriter.syncFolder(of: path)
        return hasher?.hexDigest()
    }

    public func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
    }

    deinit { if fd >= 0 { close(fd); unlink(temporaryPath) } }

    /// fsyncs the folder holding `path`, so a rename in it survives a crash; failures are errors, not ignored.
    public static func syncFolder(of path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let folder = dir.isEmpty ? "." : dir
        let d = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard d >= 0 else { throw PackageError.io(path: folder, reason: "open to fsync: \(String(cString: strerror(errno)))") }
        defer { close(d) }
        // EINVAL: a filesystem that cannot sync folders; the rename is as durable as it will get there.
        guard fsync(d) == 0 || errno == EINVAL else { throw PackageError.io(path: folder, reason: "fsync: \(String(cString: strerror(errno)))") }
    }

    /// Writes a whole file atomically; returns its SHA-256.
    @discardableResult
    public static func write(_ bytes: [UInt8], to path: String, uncached: Bool = false) throws -> String {
        try bytes.withUnsafeBytes { try write($0, to: path, uncached: uncached) }
    }

    @discardableResult
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String, uncached: Bool = false) throws -> String {
        let w = try AtomicFileWriter(path: path, uncached: uncached)
        do { try w.write(bytes) } catch { w.abandon(); throw error }
        guard let digest = try w.commit() else { throw PackageError.invalid(path: path, reason: "written without a digest, which is to be recorded") }
        return digest
    }
}

/// A counter shared by every thread of the process.
final class TemporaryCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}

public enum PackageError: Error, CustomStringConvertible, Sendable {
    case io(path: String, reason: String)
    case invalid(path: String, reason: String)
    case outputInUse(path: String, reason: String)

    public var description: String {
        switch self {
        case let .io(p, r): return "\(p): \(r)"
        case let .invalid(p, r): return "\(p): \(r)"
        case let .outputInUse(p, r): return "\(p): \(r)"
        }
    }
}
