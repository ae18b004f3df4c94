import Foundation

/// Bounds the log lines about one peer: at most `burst` complaints per `window` seconds, so a peer that sends
/// garbage in a loop cannot flood the coordinator's log; what was held back is counted in the next line let through.
struct ComplaintLimiter {
    let burst: Int
    let window: TimeInterval
    private var peers: [[UInt8]: (windowStart: Date, lines: Int, suppressed: Int)] = [:]

    init(burst: Int = 5, window: TimeInterval = 10) { self.burst = burst; self.window = window }

    /// The line to log for a complaint about `peer` now, or nil when it is held back.
    mutating func admit(_ line: String, about peer: [UInt8], at now: Date = Date()) -> String? {
        // Peers that connect once and misbehave once would otherwise grow the table for the job's lifetime.
        if peers[peer] == nil && peers.count >= 4096 { peers.removeAll() }
        var p = peers[peer] ?? (now, 0, 0)
        if now.timeIntervalSince(p.windowStart) >= window { p = (now, 0, p.suppressed) }
        defer { peers[peer] = p }
        guard p.lines < burst else {
            p.suppressed += 1
            return nil
        }
        p.lines += 1
        guard p.suppressed > 0 else { return line }
        defer { p.suppressed = 0 }
        return line + " (\(p.suppressed) similar line(s) about this peer suppressed)"
    }

}
