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
    private var hasher = Digest.SHA256Stream()

    public static let temporarySuffix = ".uqcit-tmp"

    public init(path: String) throws {
        self.path = path
        temporaryPath = path + Self.temporarySuffix
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw PackageError.io(path: temporaryPath, reason: String(cString: strerror(errno))) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw PackageError.io(path: temporaryPath, reason: String(cString: strerror(errno)))
            }
            off += n
        }
        hasher.update(bytes)
        bytesWritten += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// fsync, rename into place, fsync the folder; returns the file's SHA-256.
    @discardableResult
    public func commit() throws -> String {
        guard fsync(fd) == 0 else { throw PackageError.io(path: temporaryPath, reason: "fsync: \(String(cString: strerror(errno)))") }
        close(fd); fd = -1
        guard rename(temporaryPath, path) == 0 else { throw PackageError.io(path: path, reason: "rename: \(String(cString: strerror(errno)))") }
        AtomicFileWriter.syncFolder(of: path)
        return hasher.hexDigest()
    }

    public func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
    }

    deinit { if fd >= 0 { close(fd); unlink(temporaryPath) } }

    public static func syncFolder(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let d = open(dir.isEmpty ? "." : dir, O_RDONLY)
        if d >= 0 { fsync(d); close(d) }
    }

    /// Writes a whole small file atomically; returns its SHA-256.
    @discardableResult
    public static func write(_ bytes: [UInt8], to path: String) throws -> String {
        let w = try AtomicFileWriter(path: path)
        do { try w.write(bytes) } catch { w.abandon(); throw error }
        return try w.commit()
    }
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
