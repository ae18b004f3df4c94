import ArgumentParser
import Foundation
import Yams
import Pipeline

/// `coordinator start --config FILE`: the same settings as the flags, in YAML (keys documented in
/// cluster-config/cluster.yaml). Unknown keys are refused, so a typo never silently falls back to a default.
struct CoordinatorConfig: Decodable {
    struct Curve: Decodable {
        var coordinatorSecretKey: String?
        var allowedWorkerKeys: [String]?
        enum CodingKeys: String, CodingKey {
            case coordinatorSecretKey = "coordinator_secret_key", allowedWorkerKeys = "allowed_worker_keys"
        }
    }

    var model: String?
    var out: String?
    var profile: String?
    var workers: Int?
    var layers: String?
    var bind: [String]?
    var storage: String?
    var heartbeatIntervalMs: Int?
    var heartbeatLiveness: Int?
    var maxAttempts: Int?
    var maxInvalidResults: Int?
    var leaseMinSeconds: Double?
    var leaseSecondsPerMParam: Double?
    var insecure: Bool?
    var curve: Curve?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, out, profile, workers, layers, bind, storage, insecure, curve
        case heartbeatIntervalMs = "heartbeat_interval_ms", heartbeatLiveness = "heartbeat_liveness", maxAttempts = "max_attempts"
        case maxInvalidResults = "max_invalid_results"
        case leaseMinSeconds = "lease_min_seconds", leaseSecondsPerMParam = "lease_seconds_per_mparam"
    }

    init() {}

    static func load(_ path: String) throws -> CoordinatorConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read config file \(path)") }
        let text = String(decoding: data, as: UTF8.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let top = try? Yams.load(yaml: text) as? [String: Any] {
            for key in top.keys where !known.contains(key) {
                throw ValidationError("\(path): unknown key '\(key)' (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
        var config: CoordinatorConfig
        do { config = try YAMLDecoder().decode(CoordinatorConfig.self, from: text) } catch {
            throw ValidationError("\(path): \(error)")
        }
        if let s = config.storage, StorageMode(rawValue: s) == nil {
            throw ValidationError("\(path): storage '\(s)' is neither 'shared' nor 'stream'")
        }
        // Paths in the file are relative to the file, so a config works from any working directory.
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ p: String?) -> String? {
            guard let p, !p.hasPrefix("/"), !p.hasPrefix("synthetic:") else { return p }
            return base.appendingPathComponent(p).standardizedFileURL.path
        }
        config.model = resolve(config.model)
        config.out = resolve(config.out)
        if var curve = config.curve {
            curve.coordinatorSecretKey = resolve(curve.coordinatorSecretKey)
            curve.allowedWorkerKeys = curve.allowedWorkerKeys?.compactMap(resolve)
            config.curve = curve
        }
        if let p = config.profile, p.hasSuffix(".yaml") { config.profile = resolve(p) }
        return config
    }
}
