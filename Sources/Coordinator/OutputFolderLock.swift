import Foundation
import Engine
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive flock on `<out>/.uqcit/lock`, held for the coordinator's lifetime: two coordinators on one
/// output folder would interleave its journal. The holder writes its pid into the file so a refused second
/// coordinator can name it. The kernel drops the lock when the process dies, so a crash never leaves it stale.
public final class OutputFolderLock {
    public let path: String
    private let fd: Int32

    public init(_ out: OutputFolder) throws {
        path = out.stateFolder + "/lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PackageError.io(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw busy
                ? PackageError.outputInUse(path: out.path, reason: "another coordinator (pid \(holder.isEmpty ? "unknown" : holder)) is running this job; "
                                          + "wait for it or stop it first")
                : PackageError.io(path: path, reason: "flock: \(reason)")
        }
        let pid = Array("\(getpid())\n".utf8)
        guard ftruncate(fd, 0) == 0, pwrite(fd, pid, pid.count, 0) == pid.count else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw PackageError.io(path: path, reason: "cannot record this coordinator's pid: \(reason)")
        }
    }

    deinit { close(fd) }
}
