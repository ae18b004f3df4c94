import Foundation

/// Progress on stderr: folders (layers), tensors and tasks done, parameters/s, ETA and workers alive, at most
/// once a second.
public final class ProgressReporter: @unchecked Sendable {
    let totalTensors: Int
    let totalFolders: Int
    let totalParameters: Int
    let enabled: Bool
    let start = Date()
    var last = Date.distantPast
    /// Set by the thread that assembles folders, which is also the one that calls `update`.
    var foldersDone = 0

    public init(totalTensors: Int, totalFolders: Int, totalParameters: Int, enabled: Bool) {
        self.totalTensors = totalTensors; self.totalFolders = totalFolders
        self.totalParameters = totalParameters; self.enabled = enabled
    }

    public func update(_ p: JobProgress, force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        guard force || now.timeIntervalSince(last) >= 1 else { return }
        last = now
        let t = now.timeIntervalSince(start)
        let rate = t > 0 ? Double(p.parametersDone) / t : 0
        let eta = rate > 0 ? Double(totalParameters - p.parametersDone) / rate : 0
        let line = String(format: "[uqcit] layers %d/%d  tensors %d/%d  tasks %d/%d  params %@/%@  %@ params/s  ETA %@  workers %d",
                          foldersDone, totalFolders, p.tensorsDone, totalTensors, p.tasksDone, p.tasksTotal,
                          Self.count(p.parametersDone), Self.count(totalParameters),
                          Self.count(Int(rate)), Self.duration(eta), p.workersAlive)
        FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
    }

    public static func count(_ n: Int) -> String {
        let d = Double(n)
        if d >= 1e9 { return String(format: "%.2fG", d / 1e9) }
        if d >= 1e6 { return String(format: "%.2fM", d / 1e6) }
        if d >= 1e3 { return String(format: "%.1fk", d / 1e3) }
        return String(n)
    }

    public static func duration(_ s: Double) -> String {
        if s >= 3600 { return String(format: "%dh%02dm", Int(s) / 3600, (Int(s) % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
        return String(format: "%.0fs", s)
    }
}
