/// How a tensor's input dimension is rotated; stored in rotation.json instead of any matrix.
/// "gi-block-hadamard": per block of `block` consecutive columns, G = Q J Q^T with Q = H D / sqrt(block)
/// (H Sylvester Hadamard, D random ±1 signs from SplitMix64(seed), one draw per column in order over all
/// `size` columns) and J = [[0, -I], [I, 0]], so G is orthogonal with G G = -I. "none": G = I.
public struct RotationDescriptor: Codable, Sendable, Equatable {
    public static let blockHadamardKind = "gi-block-hadamard"
    public static let noneKind = "none"
    /// Blocks stay within L1/L2 and keep the transform's rounding error small.
    public static let maxBlock = 4096

    public var kind: String
    public var block: Int
    public var seed: UInt64
    public var size: Int

    public init(kind: String, block: Int, seed: UInt64, size: Int) {
        self.kind = kind
        self.block = block
        self.seed = seed
        self.size = size
    }

    /// The largest power of two dividing n, at most 4096; below 2 the rotation is the identity.
    public static func blockSize(for n: Int) -> Int {
        guard n > 0 else { return 0 }
        return Swift.min(n & -n, maxBlock)
    }

    public static func identity(size: Int) -> RotationDescriptor {
        RotationDescriptor(kind: noneKind, block: 0, seed: 0, size: size)
    }

    /// The G=i rotation for rows of length `size`, or the identity when no block of 2 or more divides it.
    public init(size: Int, seed: UInt64) {
        let block = RotationDescriptor.blockSize(for: size)
        if block < 2 {
            self = .identity(size: size)
        } else {
            self.init(kind: RotationDescriptor.blockHadamardKind, block: block, seed: seed, size: size)
        }
    }

    /// Why this descriptor cannot rotate rows of `columns` values (nil when it can): checked before `Rotation`
    /// is built from a descriptor that came from a file or a peer.
    public func problem(columns: Int) -> String? {
        guard size == columns else { return "rotation size \(size), the tensor has \(columns) columns" }
        switch kind {
        case Self.noneKind:
            return block == 0 ? nil : "an identity rotation with block \(block)"
        case Self.blockHadamardKind:
            let expected = Self.blockSize(for: columns)
            return expected >= 2 && block == expected ? nil : "rotation block \(block) for \(columns) columns (expected \(expected))"
        default:
            return "unknown rotation kind '\(kind)'"
        }
    }

    public var isIdentity: Bool {
        kind == RotationDescriptor.noneKind
    }
}
