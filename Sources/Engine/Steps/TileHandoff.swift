import Foundation

/// Tiles an embedded worker has just staged, kept in memory for the assembler in the same process, up to a
/// budget of bytes. The assembler takes a tile from here instead of reading its staged file back and hashing it
/// again: these are the very bytes the worker hashed and wrote, so the digest its journaled result states covers
/// them by construction. A tile that does not fit, or is not taken, is read from its staged file and checked as
/// before (so a resumed job, or a remote worker's tile, takes the same path as ever). Memory stays within the
/// budget, not the model.
public final class TileHandoff: @unchecked Sendable {
    /// About one transformer layer of an 8B model at 4 bits.
    public static let defaultBudget = 256 << 20

    public let budget: Int
    private let lock = NSLock()
    private var held: [String: (sha256: String, bytes: AlignedBytes)] = [:]
    private var heldBytes = 0
    private var taken = (count: 0, bytes: 0)

    public init(budget: Int = TileHandoff.defaultBudget) { self.budget = budget }

    /// Keeps `bytes`, the staged file `name` whose SHA-256 is `sha256`, if they fit in what is left of the budget.
    func offer(_ name: String, sha256: String, bytes: AlignedBytes) {
        lock.withLock {
            if let old = held.removeValue(forKey: name) { heldBytes -= old.bytes.count }
            guard heldBytes + bytes.count <= budget else { return }
            held[name] = (sha256, bytes)
            heldBytes += bytes.count
        }
    }

    /// The bytes of staged file `name` when they are held with this SHA-256 and size, given up by the handoff.
    public func take(_ name: String, sha256: String, size: Int) -> AlignedBytes? {
        lock.withLock {
            guard let bytes = matching(name, sha256: sha256, size: size) else { return nil }
            held[name] = nil
            heldBytes -= size
            taken = (taken.count + 1, taken.bytes + size)
            return bytes
        }
    }

    /// The bytes held for `name` with this SHA-256 and size, left in place (the assembler reads a tile's header
    /// before it copies the tile).
    public func peek(_ name: String, sha256: String, size: Int) -> AlignedBytes? {
        lock.withLock { matching(name, sha256: sha256, size: size) }
    }

    /// Under `lock`.
    private func matching(_ name: String, sha256: String, size: Int) -> AlignedBytes? {
        guard let h = held[name], h.sha256 == sha256, h.bytes.count == size else { return nil }
        return h.bytes
    }

    public var heldByteCount: Int { lock.withLock { heldBytes } }
    /// Tiles, and their bytes, taken so far.
    public var takenCount: Int { lock.withLock { taken.count } }
    public var takenBytes: Int { lock.withLock { taken.bytes } }
}
