import Foundation

/// What every test target needs from the checkout: the repository, the real models beside it (../shared/models,
/// never copied into the repo), profiles, fresh temporary folders, and a package's files for byte comparisons.
public enum TestPaths {
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    /// ../shared/models beside this checkout; in a clone made elsewhere (a temporary folder), beside the local
    /// repository it was cloned from.
    public static let sharedModels: String = {
        let here = URL(fileURLWithPath: repoRoot + "/../shared/models").standardized.path
        if FileManager.default.fileExists(atPath: here) { return here }
        guard let origin = cloneOrigin() else { return here }
        let there = URL(fileURLWithPath: origin + "/../shared/models").standardized.path
        return FileManager.default.fileExists(atPath: there) ? there : here
    }()

    /// The local path of remote "origin" in .git/config, when it is one.
    static func cloneOrigin() -> String? {
        guard let config = try? String(contentsOfFile: repoRoot + "/.git/config", encoding: .utf8) else { return nil }
        var inOrigin = false
        for line in config.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("[") { inOrigin = line == "[remote \"origin\"]"; continue }
            guard inOrigin, line.hasPrefix("url"), let eq = line.firstIndex(of: "=") else { continue }
            let url = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            let path = url.hasPrefix("file://") ? String(url.dropFirst(7)) : url
            return path.hasPrefix("/") ? path : nil
        }
        return nil
    }
    public static var tinyLlama: String { sharedModels + "/tiny-llama-bytes" }
    public static var miniLM: String { sharedModels + "/all-MiniLM-L6-v2" }

    public static func profilePath(_ name: String) -> String { repoRoot + "/cluster-config/profiles/" + name + ".yaml" }

    public static func temporaryFolder(_ tag: String) -> String {
        NSTemporaryDirectory() + "uqcit-\(tag)-\(UUID().uuidString)"
    }

    /// Every file under `root` except the job state folder (.uqcit/), relative path -> bytes.
    public static func packageFiles(_ root: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: root) else { throw CocoaError(.fileNoSuchFile) }
        for case let rel as String in e where !rel.hasPrefix(".uqcit") {
            var isDir: ObjCBool = false
            fm.fileExists(atPath: root + "/" + rel, isDirectory: &isDir)
            if !isDir.boolValue { out[rel] = fm.contents(atPath: root + "/" + rel)! }
        }
        return out
    }
}
