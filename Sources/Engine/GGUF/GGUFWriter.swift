/// Writes a GGUF v3 file as a stream: the metadata and tensor infos are given up front, the header goes out at
/// once, then each tensor's bytes arrive in order in pieces of any size (tile by tile). Memory is bounded by a
/// piece, never the model. The file is written under a temporary name and renamed into place by `finish`, so a
/// crash leaves no half file under the final name. It is written past the page cache (`DirectIO`): it is fsynced
/// here and read by another program, often on another machine, so a cached copy would only cost a copy into
/// fresh pages now and, for a large model, evict the pages being read.
public final class GGUFWriter {
    public let path: String
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    private let out: AtomicFileWriter
    /// The tensor now receiving bytes, and how many it has had.
    private var current = 0
    private var received = 0
    private var finished = false

    /// `metadata` in the order it is to be stored; `general.alignment` is written only when `alignment` is not
    /// the default 32 (and must not be given in `metadata`). Tensor offsets are computed here: each tensor's
    /// byte size padded to the alignment, in the order given. `digesting` hashes the file as it is written, for
    /// `finish` to return.
    public init(path: String, metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorInfo],
                alignment: Int = GGUFFile.defaultAlignment, digesting: Bool = false) throws(GGUFError) {
        self.path = path
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= Int(UInt32.max) else {
            throw .unsupported(file: path, reason: "alignment \(alignment) is not a power of two")
        }
        self.alignment = alignment
        var keys = Set<String>()
        for (key, value) in metadata {
            guard !key.isEmpty, keys.insert(key).inserted else { throw .badKey(file: path, key: key, reason: "empty or given twice") }
            guard key != GGUFFile.alignmentKey else { throw .badKey(file: path, key: key, reason: "set through the alignment parameter") }
            guard value.isWellTyped else { throw .badKey(file: path, key: key, reason: "array elements do not all have the declared type") }
        }
        var kvs = metadata
        if alignment != GGUFFile.defaultAlignment { kvs.append((GGUFFile.alignmentKey, .uint32(UInt32(alignment)))) }

        var names = Set<String>()
        var placed: [GGUFTensorInfo] = []
        var offset = 0
        for t in tensors {
            guard TensorName.isSafe(t.name), names.insert(t.name).inserted else {
                throw .badTensor(file: path, tensor: t.name, reason: "name is not a plain tensor name or is given twice")
            }
            if let problem = GGUFTensorInfo.shapeProblem(dimensions: t.dimensions, type: t.type) {
                throw .badTensor(file: path, tensor: t.name, reason: problem)
            }
            var p = t
            p.offset = offset
            placed.append(p)
            offset = Self.padded(offset + p.byteCount, to: alignment)
        }
        self.tensors = placed

        var header = GGUFEncoder()
        header.bytes += GGUFFile.magic
        header.integer(UInt32(3))
        header.integer(UInt64(placed.count))
        header.integer(UInt64(kvs.count))
        for (key, value) in kvs {
            header.string(key)
            header.integer(value.type.rawValue)
            header.value(value)
        }
        for t in placed {
            header.string(t.name)
            header.integer(UInt32(t.dimensions.count))
            for d in t.dimensions { header.integer(UInt64(d)) }
            header.integer(t.type.ggmlID)
            header.integer(UInt64(t.offset))
        }
        header.bytes += [UInt8](repeating: 0, count: Self.padded(header.bytes.count, to: alignment) - header.bytes.count)

        do {
            out = try AtomicFileWriter(path: path, digesting: digesting, uncached: true)
            try out.write(header.bytes)
        } catch { throw .io(file: path, reason: "\(error)") }
        advancePastEmptyTensors()
    }

    /// The tensor whose bytes are expected next, or nil once every tensor is complete.
    public var currentTensor: GGUFTensorInfo? { current < tensors.count ? tensors[current] : nil }

    /// The next piece of the current tensor's bytes. A piece may not run past the tensor's end: each tensor
    /// receives exactly its byte count, then the padding goes out and the next tensor begins.
    public func write(_ chunk: UnsafeRawBufferPointer) throws(GGUFError) {
        guard !finished else { throw .io(file: path, reason: "write after finish") }
        guard let t = currentTensor else {
            throw .io(file: path, reason: "\(chunk.count) bytes written after the last tensor")
        }
        guard chunk.count <= t.byteCount - received else {
            throw .badTensor(file: path, tensor: t.name, reason: "a \(chunk.count)-byte piece runs past its \(t.byteCount) bytes (\(received) received)")
        }
        do { try out.write(chunk) } catch { throw .io(file: path, reason: "\(error)") }
        received += chunk.count
        if received == t.byteCount {
            let pad = Self.padded(t.byteCount, to: alignment) - t.byteCount
            do { try out.write([UInt8](repeating: 0, count: pad)) } catch { throw .io(file: path, reason: "\(error)") }
            current += 1
            received = 0
            advancePastEmptyTensors()
        }
    }

    public func write(_ bytes: [UInt8]) throws(GGUFError) {
        var failure: GGUFError?
        bytes.withUnsafeBytes { p in
            do throws(GGUFError) { try write(p) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Checks that every tensor received all its bytes, then moves the file into place; returns its SHA-256 when
    /// made `digesting`.
    @discardableResult
    public func finish() throws(GGUFError) -> String? {
        guard !finished else { throw .io(file: path, reason: "finished twice") }
        if let t = currentTensor {
            throw .badTensor(file: path, tensor: t.name, reason: "received \(received) of its \(t.byteCount) bytes")
        }
        finished = true
        do { return try out.commit() } catch { throw .io(file: path, reason: "\(error)") }
    }

    /// Drops the temporary file; nothing appears under the final name.
    public func abandon() {
        finished = true
        out.abandon()
    }

    /// Zero-byte tensors are complete as soon as they begin.
    private func advancePastEmptyTensors() {
        while let t = currentTensor, t.byteCount == 0 { current += 1 }
    }

    static func padded(_ n: Int, to alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}

/// Little-endian encoding of header fields and metadata values, as GGUF stores them.
struct GGUFEncoder {
    var bytes: [UInt8] = []

    mutating func integer<T: FixedWidthInteger>(_ v: T) {
        for k in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
    }

    mutating func string(_ s: String) {
        integer(UInt64(s.utf8.count))
        bytes += s.utf8
    }

    mutating func value(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): integer(x)
        case .int8(let x): integer(x)
        case .uint16(let x): integer(x)
        case .int16(let x): integer(x)
        case .uint32(let x): integer(x)
        case .int32(let x): integer(x)
        case .uint64(let x): integer(x)
        case .int64(let x): integer(x)
        case .float32(let x): integer(x.bitPattern)
        case .float64(let x): integer(x.bitPattern)
        case .bool(let x): integer(UInt8(x ? 1 : 0))
        case .string(let x): string(x)
        case let .array(element, items):
            integer(element.rawValue)
            integer(UInt64(items.count))
            for item in items { value(item) }
        }
    }
}
