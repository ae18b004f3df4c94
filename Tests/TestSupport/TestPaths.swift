import Foundation

/// What every test target needs from the checkout: the repository, the real models beside it (../shared/models,
/// never copied into the repo), profiles, fresh temporary folders, and a package's files for byte comparisons.
public enum TestPaths {
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    public static let sharedModels = URL(fileURLWithPath: repoRoot + "/../shared/models").standardized.path
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
