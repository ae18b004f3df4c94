import Foundation
import Yams

/// Finds and loads profiles by name or path. A bare name is looked up in $UQCIT_PROFILE_DIR, then
/// ./cluster-config/profiles, then cluster-config/profiles above the running executable (a source checkout).
public enum ProfileLoader {
    public static func searchDirectories() -> [String] {
        var dirs: [String] = []
        if let env = ProcessInfo.processInfo.environment["UQCIT_PROFILE_DIR"] { dirs.append(env) }
        dirs.append(FileManager.default.currentDirectoryPath + "/cluster-config/profiles")
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            dirs.append(dir.path + "/cluster-config/profiles")
            dir = dir.deletingLastPathComponent()
        }
        return dirs
    }

    public static func resolvePath(_ nameOrPath: String) throws -> String {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") {
            guard FileManager.default.fileExists(atPath: nameOrPath) else { throw ProfileError(description: "\(nameOrPath): profile file not found") }
            return nameOrPath
        }
        for d in searchDirectories() {
            let p = d + "/" + nameOrPath + ".yaml"
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw ProfileError(description: "profile '\(nameOrPath)' not found in \(searchDirectories().joined(separator: ", "))")
    }

    public static func load(_ nameOrPath: String) throws -> Profile {
        let merged = try loadMerged(path: resolvePath(nameOrPath), depth: 0)
        let data = try JSONSerialization.data(withJSONObject: merged)
        do {
            return try JSONDecoder().decode(Profile.self, from: data)
        } catch {
            throw ProfileError(description: "\(nameOrPath): invalid profile: \(error)")
        }
    }

    private static func loadMerged(path: String, depth: Int) throws -> [String: Any] {
        guard depth < 8 else { throw ProfileError(description: "\(path): 'inherits' chain is too deep") }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard var dict = normalized(try Yams.load(yaml: text)) as? [String: Any] else {
            throw ProfileError(description: "\(path): a profile must be a YAML mapping")
        }
        if let parent = dict.removeValue(forKey: "inherits") as? String {
            let parentPath = parent.contains("/") ? parent : (URL(fileURLWithPath: path).deletingLastPathComponent().path + "/" + parent + ".yaml")
            var base = try loadMerged(path: parentPath, depth: depth + 1)
            for (k, v) in dict { base[k] = v }
            dict = base
        }
        return dict
    }

    /// YAML mappings may have integer keys (levels: {1: ...}); JSON needs strings.
    private static func normalized(_ value: Any?) -> Any? {
        if let d = value as? [AnyHashable: Any] {
            var out: [String: Any] = [:]
            for (k, v) in d { out["\(k.base)"] = normalized(v) }
            return out
        }
        if let a = value as? [Any] { return a.map { normalized($0) ?? NSNull() } }
        return value
    }
}
