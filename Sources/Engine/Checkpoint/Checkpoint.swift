import Foundation

/// A tensor of a checkpoint and the shard that holds it.
public struct CheckpointTensor: Sendable, Equatable, Codable {
    public var shard: String          // file name relative to the checkpoint folder
    public var entry: TensorEntry
    public var name: String { entry.name }

    public init(shard: String, entry: TensorEntry) {
        self.shard = shard
        self.entry = entry
    }
}

/// A Hugging Face checkpoint folder: config.json plus model.safetensors or a sharded
/// model.safetensors.index.json. Opening it reads headers only; tensor data is mapped, never loaded whole.
public final class Checkpoint: @unchecked Sendable {
    public let folder: String
    public let config: JSONValue
    public let configBytes: [UInt8]
    public let tensors: [CheckpointTensor]
    public let shards: [String: SafetensorsFile]

    public init(folder: String) throws(CheckpointError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else { throw .missingFolder(folder) }
        self.folder = folder
        let configPath = folder + "/config.json"
        guard let cfg = FileManager.default.contents(atPath: configPath) else { throw .missingFile(configPath) }
        configBytes = Array(cfg)
        do { config = try JSONValue.parse(configBytes) } catch { throw .unreadable(file: configPath, reason: error.description) }
        guard config.objectValue != nil else { throw .unreadable(file: configPath, reason: "not a JSON object") }

        let indexPath = folder + "/model.safetensors.index.json"
        var opened: [String: SafetensorsFile] = [:]
        var list: [CheckpointTensor] = []
        if FileManager.default.fileExists(atPath: indexPath) {
            let weightMap = try Self.readIndex(indexPath)
            for shard in Set(weightMap.values).sorted() {
                opened[shard] = try SafetensorsFile(path: folder + "/" + shard)
            }
            for (name, shard) in weightMap {
                guard let e = opened[shard]!.entry(name) else {
                    throw .badIndex(file: indexPath, reason: "tensor '\(name)' is indexed in \(shard) but that shard does not hold it")
                }
                list.append(CheckpointTensor(shard: shard, entry: e))
            }
            for (shard, f) in opened {
                for t in f.tensors where weightMap[t.name] == nil {
                    throw .badIndex(file: indexPath, reason: "tensor '\(t.name)' in \(shard) is missing from the weight_map")
                }
            }
        } else {
            let single = folder + "/model.safetensors"
            guard FileManager.default.fileExists(atPath: single) else {
                throw .missingFile(single + " (nor model.safetensors.index.json)")
            }
            let f = try SafetensorsFile(path: single)
            opened["model.safetensors"] = f
            list = f.tensors.map { CheckpointTensor(shard: "model.safetensors", entry: $0) }
        }
        for t in list {
            guard TensorName.isSafe(t.name) else { throw .hostileName(file: folder + "/" + t.shard, tensor: t.name) }
        }
        shards = opened
        tensors = list.sorted { TensorName.naturalOrder($0.name, $1.name) }
    }

    private static func readIndex(_ path: String) throws(CheckpointError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .missingFile(path) }
        let json: JSONValue
        do { json = try JSONValue.parse(Array(data)) } catch { throw .badIndex(file: path, reason: error.description) }
        guard let map = json["weight_map"]?.objectValue else { throw .badIndex(file: path, reason: "no weight_map object") }
        var out: [String: String] = [:]
        for (name, v) in map {
            guard let shard = v.stringValue else { throw .badIndex(file: path, reason: "weight_map entry for '\(name)' is not a string") }
            guard !shard.isEmpty, !shard.hasPrefix("/"), !shard.split(separator: "/").contains(".."), !shard.contains("\\") else {
                throw .badIndex(file: path, reason: "shard path '\(shard)' for tensor '\(name)' is absolute or leaves the folder")
            }
            guard TensorName.isSafe(name) else { throw .hostileName(file: path, tensor: name) }
            out[name] = shard
        }
        return out
    }

    public func file(for t: CheckpointTensor) -> SafetensorsFile { shards[t.shard]! }

    public var modelType: String { config["model_type"]?.stringValue ?? "" }
    public var architectures: [String] { config["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.entry.elementCount } }

    /// Identifies the source by its headers (names, dtypes, shapes, offsets) and config, without reading weights,
    /// so a resume can refuse a source that changed since the plan.
    public func fingerprint() -> String {
        var h = Digest.SHA256Stream()
        h.update(configBytes)
        for shard in shards.keys.sorted() {
            let f = shards[shard]!
            h.update(Array(shard.utf8))
            h.update((try? f.headerBytes()) ?? [])
            h.update(Array(String(f.file.size).utf8))
        }
        return h.hexDigest()
    }
}

/// Rules for tensor names coming from untrusted headers.
public enum TensorName {
    /// Plain names only: letters, digits, '_', '.', '-', ':'; no '..', no leading '.', at most 512 bytes.
    public static func isSafe(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 512, !name.hasPrefix("."), !name.contains("..") else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2E || c == 0x2D || c == 0x3A
        }
    }

    /// Orders "layers.2" before "layers.10": digit runs compare as numbers.
    public static func naturalOrder(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0, j = 0
        while i < x.count && j < y.count {
            let dx = x[i] >= 0x30 && x[i] <= 0x39, dy = y[j] >= 0x30 && y[j] <= 0x39
            if dx && dy {
                var ei = i, ej = j
                while ei < x.count, x[ei] >= 0x30 && x[ei] <= 0x39 { ei += 1 }
                while ej < y.count, y[ej] >= 0x30 && y[ej] <= 0x39 { ej += 1 }
                let nx = Int(String(decoding: x[i..<ei], as: UTF8.self)) ?? 0
                let ny = Int(String(decoding: y[j..<ej], as: UTF8.self)) ?? 0
                if nx != ny { return nx < ny }
                i = ei; j = ej
            } else {
                if x[i] != y[j] { return x[i] < y[j] }
                i += 1; j += 1
            }
        }
        return x.count - i < y.count - j
    }
}
