import Foundation

/// The process's peak resident memory since the last `reset()`. Linux keeps it as VmHWM in /proc/self/status and
/// lowers it to the current resident size when "5" is written to /proc/self/clear_refs; elsewhere there is none.
/// Process-wide: with one task thread it is that task's peak (the process's own pages included).
enum PeakResidentMemory {
    static func reset() {
        guard let f = fopen("/proc/self/clear_refs", "w") else { return }
        fputs("5", f)
        fclose(f)
    }

    static func megabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        let fields = line.split(whereSeparator: \.isWhitespace)
        guard fields.count >= 2, let kilobytes = Double(fields[1]) else { return nil }
        return kilobytes / 1024
    }
}
