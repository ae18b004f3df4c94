/// The row order convert_hf_to_gguf.py gives llama's Q and K projections (LlamaModel.permute): within each head,
/// HF stores the rotary pairs as two halves (rotate_half), llama.cpp interleaves them. Rows move as whole rows,
/// so the permutation is a row index map that can be applied to any tile of rows.
public struct GGUFRowPermutation: Sendable, Equatable {
    public let heads: Int
    public let rows: Int
    public var headRows: Int { rows / heads }

    /// nil unless `rows` splits into `heads` heads of an even number of rows.
    public init?(heads: Int, rows: Int) {
        guard heads > 0, rows > 0, rows % heads == 0, (rows / heads) % 2 == 0 else { return nil }
        self.heads = heads
        self.rows = rows
    }

    /// The HF row that GGUF row `r` holds.
    public func hfRow(forGGUFRow r: Int) -> Int {
        let d = headRows, half = d / 2, head = r / d, within = r % d
        return head * d + (within % 2) * half + within / 2
    }

    /// The GGUF row that holds HF row `r`.
    public func ggufRow(forHFRow r: Int) -> Int {
        let d = headRows, half = d / 2, head = r / d, within = r % d
        return head * d + (within % half) * 2 + within / half
    }

    /// Rows only move within their head, so rows [start, start + count) of either order lie in these whole heads.
    public func enclosingHeads(start: Int, count: Int) -> Range<Int> {
        guard count > 0 else { return start..<start }
        let d = headRows
        return (start / d * d)..<((start + count + d - 1) / d * d)
    }
}
