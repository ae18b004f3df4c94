import Foundation

/// Where a tensor goes and how it is treated: the output of layer analysis for one tensor.
public struct TensorAssignment: Codable, Sendable, Equatable {
    public var tensor: CheckpointTensor
    public var role: String
    /// 1-5 as in the design; 0 for tensors outside the level map (1-D tensors, routers, buffers).
    public var level: Int
    /// Package folder under layers/: "layer_NNN", "embeddings" or "head".
    public var folder: String
    public var policy: LevelPolicy?

    public var isQuantized: Bool { policy != nil }
    public var name: String { tensor.name }

    public init(tensor: CheckpointTensor, role: String, level: Int, folder: String, policy: LevelPolicy? = nil) {
        self.tensor = tensor
        self.role = role
        self.level = level
        self.folder = folder
        self.policy = policy
    }
}

/// Layer analysis (the design's levels 1-5): a role table from the profile, matched on tensor names per
/// architecture family, with a structural fallback for names the table does not know.
public struct LayerClassifier: Sendable {
    private let profile: Profile
    private let family: String
    private let vocabSize: Int?
    private let rules: [(RoleRule, NSRegularExpression)]
    private static let blockIndex = try! NSRegularExpression(pattern: "(?:^|\\.)(?:layers|layer|h|blocks)\\.([0-9]+)\\.")

    public init(profile: Profile, config: JSONValue) throws {
        self.profile = profile
        family = config["model_type"]?.stringValue ?? ""
        vocabSize = config["vocab_size"]?.uint64Value.map(Int.init)
        var compiled: [(RoleRule, NSRegularExpression)] = []
        for r in profile.roles where r.families.isEmpty || r.families.contains(family) {
            do { compiled.append((r, try NSRegularExpression(pattern: r.match))) } catch {
                throw ProfileError(description: "profile \(profile.name): role '\(r.role)' has an invalid pattern '\(r.match)'")
            }
        }
        rules = compiled
    }

    public func classify(_ t: CheckpointTensor) -> TensorAssignment {
        let name = t.name
        let range = NSRange(name.startIndex..., in: name)
        var folder: String
        if let m = Self.blockIndex.firstMatch(in: name, range: range), let r = Range(m.range(at: 1), in: name), let idx = Int(name[r]) {
            folder = String(format: "layer_%03d", idx)
        } else {
            folder = name.contains("embed") ? "embeddings" : "head"
        }
        var role = "other", level = 0
        // Weights in a float format the engine cannot decode (F8, F64) are classified like any weight, so that the
        // planner refuses them by name instead of copying them through uncompressed.
        if t.entry.shape.count < 2 || t.entry.dtype.isIntegerOrBool {
            role = t.entry.shape.count < 2 ? "vector" : "buffer"
        } else if let (rule, _) = rules.first(where: { $0.1.firstMatch(in: name, range: range) != nil }) {
            role = rule.role; level = rule.level
        } else if let v = vocabSize, t.entry.shape.contains(v) {
            role = name.contains("embed") ? "embedding" : "output_head"
            level = role == "embedding" ? 1 : 5
        } else {
            role = "linear"; level = 4
        }
        if role == "embedding" && folder.hasPrefix("layer_") { folder = "embeddings" }
        if role == "output_head" { folder = "head" }
        if let policy = profile.overrides?[name], t.entry.shape.count >= 2, t.entry.dtype.isSupportedFloat {
            return TensorAssignment(tensor: t, role: role, level: level, folder: folder, policy: policy)
        }
        if level != 0, profile.keepSource.contains(role), let type = profile.keepSourceGGML, t.entry.shape.count >= 2 {
            let fitted = GGUFMixSelection.fallback(type, rowLength: t.entry.columns)
            return TensorAssignment(tensor: t, role: role, level: level, folder: folder, policy: fitted.isQuantized ? .ggml(fitted) : nil)
        }
        let keep = level == 0 || profile.keepSource.contains(role)
        return TensorAssignment(tensor: t, role: role, level: level, folder: folder,
                                policy: keep ? nil : profile.policy(level: level))
    }
}
