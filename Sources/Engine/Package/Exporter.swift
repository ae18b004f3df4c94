import Foundation

/// Turns a package back into a Hugging Face folder any tool can evaluate: config.json, tokenizer files and
/// model.safetensors (sharded with an index past `shardBytes`) in the source dtype, with every weight
/// dequantized, de-rotated and compensated. Streams row tiles; never holds a whole tensor.
public enum Exporter {
    public static func export(_ package: PackageReader, to out: String, shardBytes: Int = 5 << 30, tileElements: Int = 1 << 22) throws {
        let tensors = package.tensors.map(\.tensor).map { t in
            HFFolderWriter.Tensor(entry: SafetensorsWriter.Entry(name: t.name, dtype: t.sourceDType, shape: t.shape, byteCount: t.parameters * t.sourceDType.byteSize)) { w in
                try writeTensor(t, package: package, to: w, tileElements: tileElements)
            }
        }
        try HFFolderWriter.write(tensors, config: package.config, tokenizerFrom: package, to: out, shardBytes: shardBytes)
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
