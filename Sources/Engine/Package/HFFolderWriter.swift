import Foundation

/// Writes a Hugging Face folder: safetensors shards (with an index past one shard), config.json and the package's
/// tokenizer files. Each tensor's bytes are streamed by its own writer, so memory stays bounded by a tile.
public enum HFFolderWriter {
    public struct Tensor {
        public var entry: SafetensorsWriter.Entry
        public var write: (AtomicFileWriter) throws -> Void
        public init(entry: SafetensorsWriter.Entry, write: @escaping (AtomicFileWriter) throws -> Void) {
            self.entry = entry
            self.write = write
        }
    }

    public static func write(_ tensors: [Tensor], config: [UInt8], tokenizerFrom package: PackageReader, to out: String,
                             shardBytes: Int = 5 << 30) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: out) {
            let entries = try fm.contentsOfDirectory(atPath: out)
            guard entries.isEmpty else { throw PackageError.outputInUse(path: out, reason: "is not empty; export writes into a new or empty folder") }
        }
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        // Shards: consecutive tensors until the next would pass shardBytes.
        var shards: [[Tensor]] = [[]]
        var size = 0
        for t in tensors {
            if size > 0 && size + t.entry.byteCount > shardBytes { shards.append([]); size = 0 }
            shards[shards.count - 1].append(t); size += t.entry.byteCount
        }
        let names = shards.count == 1 ? ["model.safetensors"] :
            (1...shards.count).map { String(format: "model-%05d-of-%05d.safetensors", $0, shards.count) }
        var weightMap: [String: String] = [:]
        for (k, shard) in shards.enumerated() {
            let w = try AtomicFileWriter(path: out + "/" + names[k])
            do {
                try w.write(SafetensorsWriter.header(entries: shard.map(\.entry), metadata: ["format": "pt"]))
                for t in shard {
                    weightMap[t.entry.name] = names[k]
                    let before = w.bytesWritten
                    try t.write(w)
                    guard w.bytesWritten - before == t.entry.byteCount else {
                        throw PackageError.invalid(path: out + "/" + names[k], reason: "tensor \(t.entry.name) wrote \(w.bytesWritten - before) bytes, expected \(t.entry.byteCount)")
                    }
                }
                try w.commit()
            } catch { w.abandon(); throw error }
        }
        if shards.count > 1 {
            let total = tensors.reduce(0) { $0 + $1.entry.byteCount }
            let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": weightMap]
            try AtomicFileWriter.write(Array(JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .prettyPrinted])), to: out + "/model.safetensors.index.json")
        }
        try AtomicFileWriter.write(config, to: out + "/config.json")
        // The tokenizer files, and a sentence-transformers model's module configs (1_Pooling/config.json) with their folders.
        if let tok = try? fm.subpathsOfDirectory(atPath: package.path + "/tokenizer") {
            for f in tok.sorted() {
                var isFolder: ObjCBool = false
                guard fm.fileExists(atPath: package.path + "/tokenizer/" + f, isDirectory: &isFolder), !isFolder.boolValue else { continue }
                guard let data = fm.contents(atPath: package.path + "/tokenizer/" + f) else {
                    throw PackageError.io(path: package.path + "/tokenizer/" + f, reason: "cannot read")
                }
                try fm.createDirectory(atPath: ((out + "/" + f) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try AtomicFileWriter.write(Array(data), to: out + "/" + f)
            }
        }
    }
}
