import Foundation

/// A GGUF file of the Llama family as a compression source: its tensors under Hugging Face names and shapes
/// ([rows, columns]), Q/K rows back in HF order, values dequantized to f32 (the source precision the engine
/// sees; F16 and BF16 tensors keep their dtype), with an HF config.json synthesized from the GGUF metadata and
/// the file's tokenizer. Only the header is held; rows are read tile by tile.
public final class GGUFSource: TensorRowSource, @unchecked Sendable {
    public static let fileExtension = ".gguf"

    public let file: GGUFFile
    public let hyperParameters: LlamaHyperParameters
    public let names: GGUFLlamaNames
    public let configBytes: [UInt8]
    public let config: JSONValue
    public let tensors: [CheckpointTensor]
    public let tokenizer: GGUFTokenizer
    private let stored: [String: (info: GGUFTensorInfo, permutation: GGUFRowPermutation?)]

    public var location: String { file.path }
    public var modelType: String { hyperParameters.modelType }
    public var architectures: [String] { config["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? [] }

    public init(path: String) throws(GGUFError) {
        file = try GGUFFile(path: path)
        hyperParameters = try LlamaHyperParameters(gguf: file, tied: file.tensor(named: "output.weight") == nil)
        names = GGUFLlamaNames(hyperParameters)
        configBytes = hyperParameters.configJSONBytes()
        do { config = try JSONValue.parse(configBytes) } catch { throw .unsupported(file: path, reason: "synthesized config: \(error)") }
        tokenizer = try GGUFTokenizer(gguf: file)

        let shard = (path as NSString).lastPathComponent
        var list: [CheckpointTensor] = []
        var byName: [String: (GGUFTensorInfo, GGUFRowPermutation?)] = [:]
        var offset = 0
        for t in file.tensors {
            // Llama-3 rope factors are derived from the hyper-parameters, not weights.
            if t.name == GGUFLlamaNames.ropeFrequenciesName { continue }
            guard let hf = names.hfName(gguf: t.name) else {
                throw .badTensor(file: path, tensor: t.name, reason: "has no Hugging Face name for a \(hyperParameters.modelType) model")
            }
            let shape = Array(t.dimensions.reversed())
            var permutation: GGUFRowPermutation?
            if let heads = names.permutedHeads(hf: hf) {
                permutation = GGUFRowPermutation(heads: heads, rows: t.rows)
                guard t.dimensions.count <= 2, permutation != nil else {
                    throw .badTensor(file: path, tensor: t.name, reason: "shape \(t.dimensions) does not split into \(heads) heads of an even size")
                }
            }
            let dtype: DType = t.type == .f16 ? .f16 : t.type == .bf16 ? .bf16 : .f32
            let bytes = t.elementCount * dtype.byteSize
            list.append(CheckpointTensor(shard: shard, entry: TensorEntry(name: hf, dtype: dtype, shape: shape, begin: offset, end: offset + bytes)))
            byName[hf] = (t, permutation)
            offset += bytes
        }
        tensors = list.sorted { TensorName.naturalOrder($0.name, $1.name) }
        stored = byName
    }

    /// Identifies the file by its header bytes and size, without reading weights.
    public func fingerprint() -> String {
        var h = Digest.SHA256Stream()
        h.update(Array("gguf-source 1|".utf8))
        try? file.forEachHeaderChunk { h.update($0) }
        h.update(Array("|\(file.file.size)".utf8))
        return h.hexDigest()
    }

    public func readRows(_ t: CheckpointTensor, start: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        let (info, permutation, factor) = try locate(t, start: start, count: count)
        guard out.count >= count * t.entry.columns else {
            throw CheckpointError.malformedTensor(file: location, tensor: t.name, reason: "output holds \(out.count) values, \(count) rows need \(count * t.entry.columns)")
        }
        guard let p = permutation else {
            return try file.readRows(info, start: start * factor, count: count * factor, into: out)
        }
        let heads = p.enclosingHeads(start: start, count: count)
        let block = try file.readRows(info, start: heads.lowerBound, count: heads.count)
        let cols = info.columns
        block.withUnsafeBufferPointer { rows in
            for r in 0..<count {
                let g = p.ggufRow(forHFRow: start + r) - heads.lowerBound
                _ = UnsafeMutableBufferPointer(rebasing: out[(r * cols)..<((r + 1) * cols)]).update(fromContentsOf: rows[(g * cols)..<((g + 1) * cols)])
            }
        }
    }

    /// The tensor's bytes at its presented dtype, in HF row order, a tile of rows at a time.
    public func forEachRawChunk(_ t: CheckpointTensor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let rows = t.entry.rows, rowBytes = t.entry.columns * t.entry.dtype.byteSize
        let tileRows = max(1, (8 << 20) / max(rowBytes, 1))
        var row = 0
        while row < rows {
            let n = min(tileRows, rows - row)
            try rawTile(t, start: row, count: n).withUnsafeBytes(body)
            row += n
        }
    }

    private func rawTile(_ t: CheckpointTensor, start: Int, count: Int) throws -> [UInt8] {
        let (info, permutation, factor) = try locate(t, start: start, count: count)
        guard t.entry.dtype == .f32 else {
            // F16 and BF16 keep their stored bytes; only the row order may change.
            guard let p = permutation else { return try file.rawRows(info, start: start * factor, count: count * factor) }
            let heads = p.enclosingHeads(start: start, count: count)
            let block = try file.rawRows(info, start: heads.lowerBound, count: heads.count)
            var out: [UInt8] = []
            out.reserveCapacity(count * info.rowBytes)
            for r in 0..<count {
                let g = p.ggufRow(forHFRow: start + r) - heads.lowerBound
                out += block[g * info.rowBytes..<(g + 1) * info.rowBytes]
            }
            return out
        }
        let values = try readRows(t, start: start, count: count)
        var out = [UInt8](repeating: 0, count: values.count * 4)
        out.withUnsafeMutableBytes { p in
            for (i, v) in values.enumerated() { p.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        return out
    }

    /// The stored tensor behind an HF tensor, its row permutation, and how many stored rows make one HF row
    /// (more than one only for tensors of three or more dimensions), after checking the row range.
    private func locate(_ t: CheckpointTensor, start: Int, count: Int) throws -> (GGUFTensorInfo, GGUFRowPermutation?, Int) {
        guard let s = stored[t.name] else {
            throw CheckpointError.malformedTensor(file: location, tensor: t.name, reason: "not present in this source")
        }
        let rows = t.entry.rows
        guard start >= 0, count >= 0, start <= rows, count <= rows - start else {
            throw CheckpointError.malformedTensor(file: location, tensor: t.name, reason: "rows \(start)..<\(start + count) outside its \(rows) rows")
        }
        return (s.info, s.permutation, s.info.rows / max(rows, 1))
    }
}
