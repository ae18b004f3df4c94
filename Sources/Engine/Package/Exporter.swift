import Foundation

/// Turns a package back into a Hugging Face folder any tool can evaluate: config.json, tokenizer files and
/// model.safetensors (sharded with an index past `shardBytes`) in the source dtype, with every weight
/// dequantized, de-rotated and compensated. Streams row tiles; never holds a whole tensor.
public enum Exporter {
    public static func export(_ package: PackageReader, to out: String, shardBytes: Int = 5 << 30, tileElements: Int = 1 << 22) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: out) {
            let entries = try fm.contentsOfDirectory(atPath: out)
            guard entries.isEmpty else { throw PackageError.outputInUse(path: out, reason: "is not empty; export writes into a new or empty folder") }
        }
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        let all = package.tensors.map(\.tensor)
        // Shards: consecutive tensors until the next would pass shardBytes.
        var shards: [[StoredTensor]] = [[]]
        var size = 0
        for t in all {
            let b = t.parameters * t.sourceDType.byteSize
            if size > 0 && size + b > shardBytes { shards.append([]); size = 0 }
            shards[shards.count - 1].append(t); size += b
        }
        let names = shards.count == 1 ? ["model.safetensors"] :
            (1...shards.count).map { String(format: "model-%05d-of-%05d.safetensors", $0, shards.count) }
        var weightMap: [String: String] = [:]
        for (k, shard) in shards.enumerated() {
            let entries = shard.map { SafetensorsWriter.Entry(name: $0.name, dtype: $0.sourceDType, shape: $0.shape, byteCount: $0.parameters * $0.sourceDType.byteSize) }
            let w = try AtomicFileWriter(path: out + "/" + names[k])
            do {
                try w.write(SafetensorsWriter.header(entries: entries, metadata: ["format": "pt"]))
                for t in shard {
                    weightMap[t.name] = names[k]
                    try writeTensor(t, package: package, to: w, tileElements: tileElements)
                }
                try w.commit()
            } catch { w.abandon(); throw error }
        }
        if shards.count > 1 {
            let total = all.reduce(0) { $0 + $1.parameters * $1.sourceDType.byteSize }
            let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": weightMap]
            try AtomicFileWriter.write(Array(JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .prettyPrinted])), to: out + "/model.safetensors.index.json")
        }
        try AtomicFileWriter.write(package.config, to: out + "/config.json")
        if let tok = try? fm.contentsOfDirectory(atPath: package.path + "/tokenizer") {
            for f in tok.sorted() { try AtomicFileWriter.write(Array(fm.contents(atPath: package.path + "/tokenizer/" + f)!), to: out + "/" + f) }
        }
    }

    static func writeTensor(_ t: StoredTensor, package: PackageReader, to w: AtomicFileWriter, tileElements: Int) throws {
        let rows = t.shape.count >= 2 ? t.shape[0] : 1
        let cols = t.parameters / max(rows, 1)
        if t.layout == nil {
            // Kept as stored: copy the bytes.
            let (file, _) = package.tensor(named: t.name)!
            try file.forEachRawChunk(file.entry(t.name)!) { try w.write($0) }
            return
        }
        let step = max(1, tileElements / max(cols, 1))
        var r = 0
        while r < rows {
            let n = min(step, rows - r)
            let v = try package.reconstructRows(t.name, start: r, count: n)
            try w.write(encode(v, as: t.sourceDType))
            r += n
        }
    }

    static func encode(_ v: [Float], as dtype: DType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: v.count * dtype.byteSize)
        switch dtype {
        case .f32:
            for (i, x) in v.enumerated() { let b = x.bitPattern; for k in 0..<4 { out[4 * i + k] = UInt8((b >> (8 * UInt32(k))) & 0xFF) } }
        case .bf16, .f16:
            for (i, x) in v.enumerated() {
                let b = dtype == .bf16 ? HalfPrecision.floatToBF16(x) : HalfPrecision.floatToF16(x)
                out[2 * i] = UInt8(b & 0xFF); out[2 * i + 1] = UInt8(b >> 8)
            }
        default: preconditionFailure("quantized tensors come from float sources")
        }
        return out
    }
}
