import Foundation

/// A block space's summed H and its factorizations, kept for the next tiles of the same linear: a worker gets a
/// tensor's tiles in a row, and each would otherwise re-read every CAPTURE shard and redo the O(cols³) Cholesky.
/// Keyed by the shards (name and digest, in order), so a resumed or other job never sees another's H. Entries
/// are dropped oldest first beyond `maxEntries` (a block's four spaces) or `budgetBytes` (one always stays), so a
/// worker holds about one block's H, never the model's. Two threads asking at once may both compute; the
/// results are the same bytes.
final class HessianCache: @unchecked Sendable {
    static let shared = HessianCache(budgetBytes: 256 << 20, maxEntries: 4)

    private struct FactorKey: Hashable { let damping: Double; let actOrder: Bool }
    private final class Entry {
        let hessian: [Double]
        var factors: [FactorKey: GPTQHessianFactor] = [:]
        init(hessian: [Double]) { self.hessian = hessian }
        var bytes: Int { hessian.count * 8 * (1 + factors.count) }
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

    func hessian(_ input: HessianInput, columns: Int, stagingFolder: String) throws -> [Double] {
        try entry(input, columns: columns, stagingFolder: stagingFolder).hessian
    }

    func factor(_ input: HessianInput, columns: Int, stagingFolder: String, actOrder: Bool) throws -> GPTQHessianFactor {
        let e = try entry(input, columns: columns, stagingFolder: stagingFolder)
        let key = FactorKey(damping: input.damping, actOrder: actOrder)
        if let f = lock.withLock({ e.factors[key] }) { return f }
        let f = try e.hessian.withUnsafeBufferPointer { (h) throws(CalibrationError) in
            try GPTQHessianFactor(hessian: h, cols: columns, dampingFraction: input.damping, actOrder: actOrder)
        }
        lock.withLock { e.factors[key] = f; evict() }
        return f
    }

    private func entry(_ input: HessianInput, columns: Int, stagingFolder: String) throws -> Entry {
        let key = "\(columns)|" + input.shards.map { "\($0.name):\($0.sha256)" }.joined(separator: ",")
        if let e = lock.withLock({ entries[key] }) { return e }
        let e = Entry(hessian: try CalibrationFiles.sumHessians(input.shards, columns: columns, stagingFolder: stagingFolder))
        lock.withLock {
            if entries[key] == nil { order.append(key) }
            entries[key] = e
            evict()
        }
        return e
    }

    /// Called with the lock held.
    private func evict() {
        while order.count > 1, order.count > maxEntries || order.reduce(0, { $0 + (entries[$1]?.bytes ?? 0) }) > budgetBytes {
            entries[order.removeFirst()] = nil
        }
    }
}
