/// Where a step reads source rows from: a checkpoint on disk or a synthetic model generated on read.
/// Workers see only this, so the same steps run on real shards and on frontier-scale synthetic sources.
public protocol TensorRowSource: Sendable {
    /// Writes every one of the count × columns values of `out`'s front, or throws.
    func readRows(_ t: CheckpointTensor, start: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws
    /// The tensor's bytes as stored (source dtype), in pieces, for tensors kept at source precision.
    func forEachRawChunk(_ t: CheckpointTensor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws
}

extension TensorRowSource {
    public func readRows(_ t: CheckpointTensor, start: Int, count: Int) throws -> [Float] {
        // readRows writes every value or throws (and the array is dropped): no zero fill first.
        try [Float](unsafeUninitializedCapacity: count * t.entry.columns) { p, initialized in
            try readRows(t, start: start, count: count, into: p)
            initialized = p.count
        }
    }
}

extension Checkpoint: TensorRowSource {
    public func readRows(_ t: CheckpointTensor, start: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard let f = shards[t.shard], let e = f.entry(t.name) else {
            throw CheckpointError.malformedTensor(file: folder + "/" + t.shard, tensor: t.name, reason: "not present in this source")
        }
        try f.readRows(e, start: start, count: count, into: out)
    }

    public func forEachRawChunk(_ t: CheckpointTensor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let f = shards[t.shard], let e = f.entry(t.name) else {
            throw CheckpointError.malformedTensor(file: folder + "/" + t.shard, tensor: t.name, reason: "not present in this source")
        }
        try f.forEachRawChunk(e, body)
    }
}
