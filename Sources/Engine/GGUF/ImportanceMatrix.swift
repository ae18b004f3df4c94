/// A llama.cpp importance matrix, as `llama-imatrix` writes it (GGUF: per weight tensor "NAME.in_sum2", the sums of
/// squares of each input column's activations over the calibration text, and "NAME.counts", how many rows were
/// summed). The mean square per column is what llama-quantize weights its fits with, and so do our searches: the
/// same file given to both puts the two choices of codes on the same information.
public struct ImportanceMatrix: Sendable {
    public let path: String
    /// SHA-256 of the file: part of a job's identity, so a resume with another matrix is refused.
    public let sha256: String
    /// Mean square activation per input column, by llama.cpp tensor name ("blk.0.attn_q.weight").
    public let columns: [String: [Float]]

    static let sumSuffix = ".in_sum2"
    static let countSuffix = ".counts"

    public init(path: String) throws(GGUFError) {
        let file = try GGUFFile(path: path)
        self.path = path
        do { sha256 = try Digest.sha256Hex(file: path) } catch { throw .io(file: path, reason: error.description) }
        var columns: [String: [Float]] = [:]
        for sums in file.tensors where sums.name.hasSuffix(Self.sumSuffix) {
            let name = String(sums.name.dropLast(Self.sumSuffix.count))
            guard let counts = file.tensor(named: name + Self.countSuffix) else {
                throw .badTensor(file: path, tensor: sums.name, reason: "has no '\(name + Self.countSuffix)' beside it")
            }
            // One matrix per tensor: mixture-of-experts tensors carry one row of sums per expert, which the
            // Llama-family tensors this tool quantizes with GGUF profiles never have.
            guard sums.rows == 1, counts.elementCount == 1 else {
                throw .unsupported(file: path, reason: "tensor '\(name)' has \(sums.rows) matrices (experts); one is supported")
            }
            let sum = try file.readRows(sums, start: 0, count: 1)
            let count = try file.readRows(counts, start: 0, count: 1)[0]
            guard count.isFinite, count >= 0 else {
                throw .badTensor(file: path, tensor: counts.name, reason: "count \(count) is not a number of rows")
            }
            if let bad = sum.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
                throw .badTensor(file: path, tensor: sums.name, reason: "column \(bad) holds \(sum[bad]), not a finite sum of squares")
            }
            // A tensor the calibration text never reached (count 0) weighs every column the same, as llama-quantize does.
            columns[name] = count > 0 ? sum.map { $0 / count } : [Float](repeating: 1, count: sum.count)
        }
        guard !columns.isEmpty else {
            throw .unsupported(file: path, reason: "no '*\(Self.sumSuffix)' tensors: not an importance matrix in llama-imatrix's GGUF format")
        }
        self.columns = columns
    }

    /// Each quantized HF tensor's column importance, checked against its row length. Tensors the matrix does not
    /// cover (llama-imatrix skips the embeddings, for one) get none and are fitted unweighted, as llama-quantize does.
    public func columnImportance(hfNames: [(name: String, columns: Int)], names: GGUFLlamaNames) throws(GGUFError) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (hf, cols) in hfNames {
            guard let gguf = names.ggufName(hf: hf), let v = columns[gguf] else { continue }
            guard v.count == cols else {
                throw .badTensor(file: path, tensor: gguf + Self.sumSuffix, reason: "\(v.count) columns, but \(hf) has \(cols)")
            }
            out[hf] = v
        }
        return out
    }
}
