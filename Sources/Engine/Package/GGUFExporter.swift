import Foundation

/// Writes a package as one GGUF v3 file for llama.cpp, at its compressed size: tensors stored as ggml blocks are
/// copied row by row (Q and K rows reordered as convert_hf_to_gguf.py does for llama; a BERT's pooler left out
/// as there), norms become F32 as llama.cpp expects, and the architecture's hyper-parameters and the tokenizer go
/// into the metadata. Streams tensor by tensor, a tile of rows at a time, so memory is bounded by the tile, not the
/// model.
public enum GGUFExporter {
    public struct Summary: Sendable {
        public var tensors: Int
        public var tensorBytes: Int
        public var fileBytes: Int
        public var parameters: Int
        /// The file's SHA-256, when asked for (`digesting`).
        public var sha256: String?
        /// Tensors that were not stored as ggml blocks and were requantized to Q8_0, with the relative error added.
        public var requantized: [(name: String, relativeError: Double)]
        public var bitsPerWeight: Double { Double(tensorBytes * 8) / Double(max(parameters, 1)) }
    }

    /// What a tensor that is not stored as ggml blocks becomes with `requantize`: 8.5 bits per weight, the
    /// smallest ggml type that loses almost nothing on top of the package's own error.
    public static let requantizeType = GGMLType.q8_0

    /// One tensor of the file: where its rows come from and how they are written.
    struct Plan {
        var stored: StoredTensor
        var info: GGUFTensorInfo
        var permutation: GGUFRowPermutation?
    }

    public static func export(_ package: PackageReader, to path: String, requantize: Bool = false, digesting: Bool = false,
                              tileElements: Int = 1 << 22) throws -> Summary {
        let configPath = package.path + "/config.json"
        let config = try JSONValue.parse(package.config)
        let names = try GGUFModelMapping(config: config, file: configPath, folder: package.path + "/tokenizer")
        let tokenizer = try tokenizerMetadata(package, config: config)
        var plans: [Plan] = []
        for (_, t) in package.tensors where !names.isDropped(hf: t.name) {
            guard let name = names.ggufName(hf: t.name) else {
                throw PackageError.invalid(path: package.path, reason: "tensor '\(t.name)' has no llama.cpp name: it cannot go into a GGUF file")
            }
            let type = try ggmlType(t, requantize: requantize, package: package)
            var permutation: GGUFRowPermutation? = nil
            if let heads = names.permutedHeads(hf: t.name) {
                guard let p = GGUFRowPermutation(heads: heads, rows: t.shape[0]) else {
                    throw PackageError.invalid(path: package.path, reason: "tensor '\(t.name)': \(t.shape[0]) rows do not split into \(heads) heads")
                }
                permutation = p
            }
            plans.append(Plan(stored: t, info: GGUFTensorInfo(name: name, dimensions: Array(t.shape.reversed()), type: type), permutation: permutation))
        }
        var infos = plans.map(\.info)
        let ropeFactors = names.ropeFactors
        if let f = ropeFactors { infos.insert(GGUFTensorInfo(name: GGUFLlamaNames.ropeFrequenciesName, dimensions: [f.count], type: .f32), at: 0) }

        let mix = package.metadata.profile.settings.ggufMix
        var metadata = names.ggufMetadata(name: package.metadata.source.name, fileType: mix?.llamaFileType)
        metadata.append(("general.quantization_version", .uint32(2)))
        metadata += tokenizer
        let writer = try GGUFWriter(path: path, metadata: metadata, tensors: infos, digesting: digesting)
        var requantized: [(name: String, relativeError: Double)] = []
        do {
            if let f = ropeFactors { try writer.write(f32Bytes(f)) }
            for p in plans {
                if let e = try writeTensor(p, package: package, to: writer, tileElements: tileElements) { requantized.append((p.stored.name, e)) }
            }
            let digest = try writer.finish()
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            return Summary(tensors: infos.count, tensorBytes: infos.reduce(0) { $0 + $1.byteCount }, fileBytes: size,
                           parameters: plans.reduce(0) { $0 + $1.stored.parameters }, sha256: digest, requantized: requantized)
        } catch { writer.abandon(); throw error }
    }

    /// The tokenizer a GGUF source carried, else the one of the source's tokenizer files (or its byte vocabulary).
    /// A synthetic source has none: llama.cpp's "none" vocabulary says so (the file loads, but cannot read text).
    static func tokenizerMetadata(_ package: PackageReader, config: JSONValue) throws -> [(key: String, value: GGUFValue)] {
        let carried = package.path + "/tokenizer/" + GGUFTokenizer.packageFileName
        if let data = FileManager.default.contents(atPath: carried) { return try GGUFTokenizer(jsonBytes: Array(data), file: carried).metadata }
        if package.metadata.source.name.hasPrefix(SyntheticSource.scheme) { return [(GGUFTokenizer.Key.model, .string("none"))] }
        return try GGUFTokenizer.forCheckpoint(folder: package.path + "/tokenizer", config: config).metadata
    }

    /// ggml blocks keep their type; tensors kept as stored go as llama.cpp holds them (1-D as F32); anything else
    /// only with `requantize`.
    static func ggmlType(_ t: StoredTensor, requantize: Bool, package: PackageReader) throws -> GGMLType {
        guard let layout = t.layout else {
            if t.shape.count < 2 { return .f32 }
            guard let type = t.sourceDType.floatType else {
                throw PackageError.invalid(path: package.path, reason: "tensor '\(t.name)' is \(t.sourceDType.rawValue), which GGUF does not carry")
            }
            return type
        }
        if let type = layout.ggml {
            guard layout.rotation.kind == RotationDescriptor.noneKind else {
                throw PackageError.invalid(path: package.path, reason: "tensor '\(t.name)' is rotated (\(layout.rotation.kind)), and llama.cpp applies no rotation to weights")
            }
            return type
        }
        guard requantize, requantizeType.rowBytes(columns: layout.columns) != nil else {
            throw PackageError.invalid(path: package.path, reason: "tensor '\(t.name)' is stored as \(t.pattern ?? "a mixed-precision pattern"), not a ggml type: "
                + "compress with a gguf-* profile, or pass --requantize to turn it into \(requantizeType.rawValue) (8.5 bits per weight, more error)")
        }
        return requantizeType
    }

    /// Writes one tensor's rows in GGUF order; returns the relative error a requantization added, if any.
    static func writeTensor(_ p: Plan, package: PackageReader, to w: GGUFWriter, tileElements: Int) throws -> Double? {
        let t = p.stored, rows = p.info.rows, cols = p.info.columns
        guard let (file, _) = package.tensor(named: t.name) else { throw PackageError.invalid(path: package.path, reason: "no tensor '\(t.name)'") }
        let rowBytes = p.info.rowBytes
        // Whole heads per tile, so a permuted tensor's rows never leave the tile they were read in.
        let unit = p.permutation?.headRows ?? 1
        let step = max(unit, tileElements / max(cols, 1) / unit * unit)
        var source = 0.0, error = 0.0
        var r = 0
        while r < rows {
            let n = min(step, rows - r)
            var bytes: [UInt8]
            if p.stored.layout?.ggml != nil {
                guard let blocks = file.entry(t.name + "#" + TileCodec.ggmlBlocks), blocks.end - blocks.begin == rows * rowBytes else {
                    throw PackageError.invalid(path: file.path, reason: "tensor '\(t.name)' has no ggml.blocks array of \(rows) x \(rowBytes) bytes")
                }
                bytes = try file.rawBytes(blocks, range: r * rowBytes..<(r + n) * rowBytes)
            } else {
                let values = try package.reconstructRows(t.name, start: r, count: n)
                bytes = [UInt8](repeating: 0, count: n * rowBytes)
                if t.layout == nil {
                    encodeFloat(values, as: p.info.type, into: &bytes)
                } else {
                    (source, error) = requantize(values, rows: n, cols: cols, type: p.info.type, into: &bytes, sums: (source, error))
                }
            }
            if let perm = p.permutation { bytes = permute(bytes, rows: n, rowBytes: rowBytes, firstRow: r, perm) }
            try w.write(bytes)
            r += n
        }
        return t.layout != nil && t.layout?.ggml == nil ? (source > 0 ? (error / source).squareRoot() : 0) : nil
    }

    /// GGUF row g of the tile holds HF row perm.hfRow(g); both lie in the tile because it holds whole heads.
    static func permute(_ bytes: [UInt8], rows: Int, rowBytes: Int, firstRow: Int, _ perm: GGUFRowPermutation) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: bytes.count)
        for g in 0..<rows {
            let h = perm.hfRow(forGGUFRow: firstRow + g) - firstRow
            out[g * rowBytes..<(g + 1) * rowBytes] = bytes[h * rowBytes..<(h + 1) * rowBytes]
        }
        return out
    }

    static func requantize(_ v: [Float], rows: Int, cols: Int, type: GGMLType, into bytes: inout [UInt8], sums: (Double, Double)) -> (Double, Double) {
        var (s, e) = sums
        let rowBytes = type.rowBytes(columns: cols)!
        var back = [Float](repeating: 0, count: cols)
        v.withUnsafeBufferPointer { x in
            bytes.withUnsafeMutableBytes { out in
                for r in 0..<rows {
                    type.quantizeRow(x.baseAddress! + r * cols, columns: cols, into: out.baseAddress! + r * rowBytes)
                    back.withUnsafeMutableBufferPointer { type.dequantizeRow(UnsafeRawPointer(out.baseAddress! + r * rowBytes), columns: cols, into: $0.baseAddress!) }
                    for c in 0..<cols {
                        let a = Double(x[r * cols + c]), d = a - Double(back[c])
                        s += a * a; e += d * d
                    }
                }
            }
        }
        return (s, e)
    }

    static func encodeFloat(_ v: [Float], as type: GGMLType, into bytes: inout [UInt8]) {
        v.withUnsafeBufferPointer { x in
            bytes.withUnsafeMutableBytes { type.quantizeRow(x.baseAddress!, columns: v.count, reference: true, into: $0.baseAddress!) }
        }
    }

    static func f32Bytes(_ v: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 4 * v.count)
        encodeFloat(v, as: .f32, into: &out)
        return out
    }
}
