import Foundation

/// A per-process folder for targets whose readers take a path: each input is written to a fixed file in it,
/// overwritten by the next, so a long fuzzing run does not fill the disk.
enum ScratchFolder {
    static let path: String = {
        let p = NSTemporaryDirectory() + "uqcit-fuzz-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }()

    /// Writes `bytes` to `name` (a subfolder created as needed) inside the folder and returns its path.
    static func write(_ bytes: [UInt8], as name: String) -> String {
        let file = path + "/" + name
        if name.contains("/") { try? FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true) }
        // A failed write leaves a stale file; the target then reads that, which is still a valid input.
        FileManager.default.createFile(atPath: file, contents: Data(bytes))
        return file
    }
}
