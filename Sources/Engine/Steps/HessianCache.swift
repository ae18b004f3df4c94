import Foundation

/// A block space's summed H and its factorizations, kept for the next tiles of the same linear: a worker gets a
/// tensor's tiles in a row, and each would otherwise re-read every CAPTURE shard and redo the O(cols³) Cholesky.
/// Keyed by the shards (name and digest, in order), so a resumed or other job never sees another's H. Entries
/// are dropped oldest first beyond `maxEntries` (a block's four spaces) or `budgetBytes` (one always stays), so a
/// worker holds about one block's H, never the model's. Where H and a factor would not both fit the budget (a
/// frontier-width space: 22.7 GB each at 53,248 columns), H is let go once factored, keeping its diagonal (the
/// searches' importance), and summed again from the shards if asked for. Two threads asking at once may both
/// compute; the results are the same bytes.
final class HessianCache: @unchecked Sendable {
    static let shared = HessianCache(budgetBytes: 256 << 20, maxEntries: 4)

    private struct FactorKey: Hashable { let damping: Double; let actOrder: Bool }
    private final class Entry {
        var hessian: [Double]?
        let diagonal: [Double]
        var factors: [FactorKey: GPTQHessianFactor] = [:]
        init(hessian: [Double], columns n: Int) {
            self.hessian = hessian
            diagonal = (0..<n).map { hessian[$0 * n + $0] }
        }
        var bytes: Int { 8 * ((hessian?.count ?? 0) + diagonal.count + factors.values.reduce(0) { $0 + $1.upper.count }) }
    }

    private let budgetBytes: Int
    private let maxEntries: Int
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var order: [String] = []

    init(budgetBytes: Int, maxEntries: Int) {
        self.budgetBytes = budgetBytes
        self.maxEntries = maxEntries
    }

    /// The whole summed H.
    func hessian(_ input: HessianInput, columns: Int, stagingFolder: String) throws -> [Double] {
        let e = try entry(input, columns: columns, stagingFolder: stagingFolder)
        if let h = lock.withLock({ e.hessian }) { return h }
        let h = try CalibrationFiles.sumHessians(input.shards, columns: columns, stagingFolder: stagingFolder)
        lock.withLock {
            if keepsHessian(e, count: h.count) { e.hessian = h; evict() }
        }
        return h
    }

    /// diag(H), without holding H.
    func diagonal(_ input: HessianInput, columns: Int, stagingFolder: String) throws -> [Double] {
        try entry(input, columns: columns, stagingFolder: stagingFolder).diagonal
    }

    func factor(_ input: HessianInput, columns: Int, stagingFolder: String, actOrder: Bool) throws -> GPTQHessianFactor {
        let e = try entry(input, columns: columns, stagingFolder: stagingFolder)
        let key = FactorKey(damping: input.damping, actOrder: actOrder)
        if let f = lock.withLock({ e.factors[key] }) { return f }
        let h = try hessian(input, columns: columns, stagingFolder: stagingFolder)
        let f = try h.withUnsafeBufferPointer { (h) throws(CalibrationError) in
            try GPTQHessianFactor(hessian: h, cols: columns, dampingFraction: input.damping, actOrder: actOrder)
        }
        lock.withLock {
            e.factors[key] = f
            if !keepsHessian(e, count: h.count) { e.hessian = nil }
            evict()
        }
        return f
    }

    private func entry(_ input: HessianInput, columns: Int, stagingFolder: String) throws -> Entry {
        let key = "\(columns)|" + input.shards.map { "\($0.name):\($0.sha256)" }.joined(separator: ",")
        if let e = lock.withLock({ entries[key] }) { return e }
        let e = Entry(hessian: try CalibrationFiles.sumHessians(input.shards, columns: columns, stagingFolder: stagingFolder), columns: columns)
        lock.withLock {
            if entries[key] == nil { order.append(key) }
            entries[key] = e
            evict()
        }
        return e
    }

    /// Whether an entry holds its whole H: until it is factored, or while H and a factor fit the budget together.
    /// Called with the lock held.
    private func keepsHessian(_ e: Entry, count: Int) -> Bool {
        e.factors.isEmpty || 2 * 8 * count <= budgetBytes
    }

    /// Called with the lock held.
    private func evict() {
        while order.count > 1, order.count > maxEntries || order.reduce(0, { $0 + (entries[$1]?.bytes ?? 0) }) > budgetBytes {
            entries[order.removeFirst()] = nil
        }
    }
}
