import Foundation

/// sentence-transformers' modules after the transformer: pooling mode and whether 2_Normalize follows.
public struct SentencePooling: Sendable, Equatable, Codable {
    public enum Mode: String, Sendable, Codable { case mean, cls, max }
    public var mode: Mode
    public var normalize: Bool

    public init(mode: Mode = .mean, normalize: Bool = false) { self.mode = mode; self.normalize = normalize }

    /// Reads modules.json and the pooling module's config.json; a plain BERT folder gets mean pooling.
    public static func load(folder: String) -> SentencePooling {
        var p = SentencePooling()
        guard let d = FileManager.default.contents(atPath: folder + "/modules.json"),
              let modules = try? JSONSerialization.jsonObject(with: d) as? [[String: Any]] else { return p }
        for m in modules {
            let type = m["type"] as? String ?? ""
            if type.hasSuffix("models.Normalize") { p.normalize = true }
            if type.hasSuffix("models.Pooling"), let path = m["path"] as? String,
               let pd = FileManager.default.contents(atPath: folder + "/" + path + "/config.json"),
               let cfg = try? JSONSerialization.jsonObject(with: pd) as? [String: Any] {
                if cfg["pooling_mode_cls_token"] as? Bool == true { p.mode = .cls }
                else if cfg["pooling_mode_max_tokens"] as? Bool == true { p.mode = .max }
                else { p.mode = .mean }
            }
        }
        return p
    }
}
