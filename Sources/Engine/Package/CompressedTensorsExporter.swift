import Foundation

/// Writes a package as a Hugging Face folder in compressed-tensors' `pack-quantized` format, which vLLM serves at
/// its compressed size. Our symmetric int4/int8 codes already are that format's values plus its offset
/// (2^(bits-1)), packed low bits first, so weight_packed is the package's codes reinterpreted as int32 (int8 flips
/// its sign bit to add the offset) and weight_scale is the package's f16 scales: nothing is requantized.
public enum CompressedTensorsExporter {
    /// One quantization scheme of the config: bits and group size.
    struct Scheme: Hashable, Comparable {
        var bits: Int
        var groupSize: Int
        static func < (a: Scheme, b: Scheme) -> Bool { (a.bits, a.groupSize) < (b.bits, b.groupSize) }
    }

    public static func export(_ package: PackageReader, to out: String, tileElements: Int = 1 << 22) throws {
        var tensors: [HFFolderWriter.Tensor] = []
        var modules: [Scheme: [String]] = [:]
        var dense: [String] = []
        for (_, t) in package.tensors {
            guard let (file, _) = package.tensor(named: t.name) else { continue }
            guard let layout = t.layout else {
                if t.shape.count == 2, t.name.hasSuffix(".weight"), t.role != "embedding" { dense.append(module(t.name)) }
                tensors.append(HFFolderWriter.Tensor(entry: SafetensorsWriter.Entry(name: t.name, dtype: t.sourceDType, shape: t.shape, byteCount: t.bytes)) { w in
                    try file.forEachRawChunk(file.entry(t.name)!) { try w.write($0) }
                })
                continue
            }
            let scheme = try self.scheme(t, layout, package: package)
            modules[scheme, default: []].append(module(t.name))
            tensors += try packed(t, layout, scheme: scheme, file: file, tileElements: tileElements)
        }
        guard !modules.isEmpty else {
            throw PackageError.invalid(path: package.path, reason: "no quantized tensor to export: compressed-tensors needs int4 or int8 weights")
        }
        try HFFolderWriter.write(tensors, config: try config(package, modules: modules, dense: dense), tokenizerFrom: package, to: out)
    }

    static func module(_ weightName: String) -> String { String(weightName.dropLast(".weight".count)) }

    /// What pack-quantized can carry exactly; anything else is refused by name.
    static func scheme(_ t: StoredTensor, _ layout: QuantizedTensorLayout, package: PackageReader) throws -> Scheme {
        func refuse(_ why: String) -> PackageError {
            PackageError.invalid(path: package.path, reason: "tensor '\(t.name)' cannot be written as compressed-tensors pack-quantized: \(why)")
        }
        if let g = layout.ggml { throw refuse("it is stored as ggml \(g.rawValue) blocks (export it with --format gguf)") }
        guard t.name.hasSuffix(".weight"), t.shape.count == 2 else { throw refuse("not a 2-D linear weight") }
        guard layout.granularity == .channel, layout.high == nil else { throw refuse("it has a high-precision share (a mixed-precision pattern)") }
        guard layout.rotation.kind == RotationDescriptor.noneKind else { throw refuse("it is rotated, and vLLM applies no rotation to weights") }
        guard layout.compensationRank == 0 else { throw refuse("it has a low-rank compensation, which vLLM does not apply") }
        guard layout.low.symmetric else { throw refuse("its \(layout.low.format.rawValue) codes are asymmetric with a free minimum, not an integer zero point") }
        guard layout.low.format == .int4 || layout.low.format == .int8 else { throw refuse("format \(layout.low.format.rawValue); pack-quantized takes int4 or int8") }
        let bits = layout.low.format.bits
        guard layout.columns % layout.low.groupSize == 0, layout.columns % (32 / bits) == 0 else {
            throw refuse("\(layout.columns) columns are not a whole number of groups of \(layout.low.groupSize)")
        }
        return Scheme(bits: bits, groupSize: layout.low.groupSize)
    }

    static func packed(_ t: StoredTensor, _ layout: QuantizedTensorLayout, scheme: Scheme, file: SafetensorsFile, tileElements: Int) throws -> [HFFolderWriter.Tensor] {
        let rows = layout.rows, cols = layout.columns
        let name = module(t.name)
        guard let codes = file.entry(t.name + "#lo.codes"), let scales = file.entry(t.name + "#lo.scales") else {
            throw PackageError.invalid(path: file.path, reason: "tensor '\(t.name)' has no lo.codes / lo.scales arrays")
        }
        let codeRowBytes = cols * scheme.bits / 8
        guard codes.end - codes.begin == rows * codeRowBytes, scales.end - scales.begin == rows * (cols / scheme.groupSize) * 2 else {
            throw PackageError.invalid(path: file.path, reason: "tensor '\(t.name)': arrays do not match its \(rows) x \(cols) layout")
        }
        let step = max(1, tileElements / max(cols, 1))
        let shape: [UInt8] = [Int64(rows), Int64(cols)].flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        return [
            HFFolderWriter.Tensor(entry: .init(name: name + ".weight_packed", dtype: .i32, shape: [rows, cols * scheme.bits / 32], byteCount: rows * codeRowBytes)) { w in
                var r = 0
                while r < rows {
                    let n = min(step, rows - r)
                    var bytes = try file.rawBytes(codes, range: r * codeRowBytes..<(r + n) * codeRowBytes)
                    packQuantizedWords(fromPackageCodes: &bytes, bits: scheme.bits)
                    try w.write(bytes)
                    r += n
                }
            },
            HFFolderWriter.Tensor(entry: .init(name: name + ".weight_scale", dtype: .f16, shape: [rows, cols / scheme.groupSize], byteCount: scales.end - scales.begin)) { w in
                try file.forEachRawChunk(scales) { try w.write($0) }
            },
            HFFolderWriter.Tensor(entry: .init(name: name + ".weight_shape", dtype: .i64, shape: [2], byteCount: 16)) { w in
                try w.write(shape)
            },
        ]
    }

    /// A package's packed symmetric codes as pack-quantized's little-endian int32 words. int4 already stores
    /// q + 8 low nibble first, which is that format's packing; int8 stores q's two's-complement byte, and
    /// q + 128 is that byte with its top bit flipped.
    public static func packQuantizedWords(fromPackageCodes bytes: inout [UInt8], bits: Int) {
        if bits == 8 { for i in bytes.indices { bytes[i] ^= 0x80 } }
    }

    /// The source config with compressed-tensors' quantization_config: one group per scheme. A single scheme
    /// targets every Linear and ignores the dense ones by name; several schemes list their modules by name.
    static func config(_ package: PackageReader, modules: [Scheme: [String]], dense: [String]) throws -> [UInt8] {
        guard var config = try JSONSerialization.jsonObject(with: Data(package.config)) as? [String: Any] else {
            throw PackageError.invalid(path: package.path + "/config.json", reason: "not a JSON object")
        }
        var groups: [String: Any] = [:]
        for (k, scheme) in modules.keys.sorted().enumerated() {
            groups["group_\(k)"] = [
                "targets": modules.count == 1 ? ["Linear"] : modules[scheme]!,
                "weights": ["num_bits": scheme.bits, "type": "int", "symmetric": true, "strategy": "group",
                            "group_size": scheme.groupSize, "dynamic": false, "actorder": NSNull(), "observer": "minmax"] as [String: Any],
                "input_activations": NSNull(), "output_activations": NSNull(),
            ] as [String: Any]
        }
        config["quantization_config"] = [
            "quant_method": "compressed-tensors", "format": "pack-quantized", "quantization_status": "compressed",
            "config_groups": groups, "ignore": modules.count == 1 ? dense : [], "kv_cache_scheme": NSNull(),
        ] as [String: Any]
        return Array(try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted]))
    }
}
