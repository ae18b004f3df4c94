/// int8 codes: one signed level q in -127...127 per byte, stored as UInt8(bitPattern: Int8(q)).
/// -128 is never produced, which keeps the grid symmetric around zero.
public struct Int8Block: Sendable {
    public static func packedBytes(count: Int) -> Int {
        count
    }

    public static func pack(codes: UnsafeBufferPointer<UInt8>, into packed: UnsafeMutableBufferPointer<UInt8>) {
        precondition(packed.count >= codes.count)
        guard let source = codes.baseAddress, let target = packed.baseAddress else { return }
        target.update(from: source, count: codes.count)
    }

    public static func unpack(packed: UnsafeBufferPointer<UInt8>, count: Int, into codes: UnsafeMutableBufferPointer<UInt8>) {
        precondition(packed.count >= count && codes.count >= count)
        guard let source = packed.baseAddress, let target = codes.baseAddress else { return }
        target.update(from: source, count: count)
    }
}
