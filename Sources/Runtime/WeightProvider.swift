import Foundation
import Engine

/// Where a forward pass gets its weights: float rows of any tensor by name, in the original basis.
/// Three sources exist: an original checkpoint folder (`CheckpointWeights`), a `.gguf` file (`GGUFWeights`) and a
/// UQCIT package (`PackageWeights`, dequantized on the fly). Models ask per layer, so only one layer's floats need to be
/// resident at a time when a model is too large to keep.
public protocol WeightProvider: AnyObject, Sendable {
    /// config.json of the model.
    var config: JSONValue { get }
    /// A short description for reports ("checkpoint DIR", "package DIR").
    var label: String { get }
    /// The tensor's shape, nil when the model has no such tensor.
    func shape(of name: String) -> [Int]?
    /// Rows [start, start + count) of the tensor's 2-D view (rows = first dimension), as Float.
    func rows(_ name: String, start: Int, count: Int) throws -> [Float]
}

public enum RuntimeError: Error, CustomStringConvertible, Sendable {
    case missingTensor(String, in: String)
    case badShape(String, expected: [Int], got: [Int])
    case badConfig(String)
    case unsupported(String)
    case badInput(String)

    public var description: String {
        switch self {
        case let .missingTensor(n, p): return "\(p): no tensor '\(n)'"
        case let .badShape(n, e, g): return "tensor '\(n)' has shape \(g), the config implies \(e)"
        case let .badConfig(s): return "config.json: \(s)"
        case let .unsupported(s): return "unsupported: \(s)"
        case let .badInput(s): return s
        }
    }
}

extension WeightProvider {
    public func has(_ name: String) -> Bool { shape(of: name) != nil }

    /// The whole tensor as Float, checked against the shape the config implies.
    public func tensor(_ name: String, shape expected: [Int]) throws -> [Float] {
        guard let s = shape(of: name) else { throw RuntimeError.missingTensor(name, in: label) }
        guard s == expected else { throw RuntimeError.badShape(name, expected: expected, got: s) }
        return try rows(name, start: 0, count: s.count >= 2 ? s[0] : 1)
    }

    /// The tensor if present (optional biases), else nil.
    public func optionalTensor(_ name: String, shape expected: [Int]) throws -> [Float]? {
        has(name) ? try tensor(name, shape: expected) : nil
    }

    /// Rows `ids` of a 2-D tensor (an embedding lookup), in the order given; each distinct row is read once.
    public func gatherRows(_ name: String, ids: [Int]) throws -> [Float] {
        guard let s = shape(of: name), s.count == 2 else { throw RuntimeError.missingTensor(name, in: label) }
        let cols = s[1]
        var out = [Float](repeating: 0, count: ids.count * cols)
        var cache: [Int: [Float]] = [:]
        for (i, id) in ids.enumerated() {
            guard id >= 0 && id < s[0] else { throw RuntimeError.badInput("token id \(id) outside the vocabulary of \(s[0]) (\(name))") }
            let row: [Float]
            if let r = cache[id] { row = r } else { row = try rows(name, start: id, count: 1); cache[id] = row }
            for c in 0..<cols { out[i * cols + c] = row[c] }
        }
        return out
    }
}

/// Weights of a model source read as stored: every tensor decoded to f32 per row range, under its Hugging Face
/// name and row order. A checkpoint folder (BF16/F16/F32 shards, mapped) or a `.gguf` file (dequantized).
public final class SourceWeights<Source: TensorRowSource>: WeightProvider, @unchecked Sendable {
    public let source: Source
    public let config: JSONValue
    public let label: String
    private let byName: [String: CheckpointTensor]

    init(source: Source, tensors: [CheckpointTensor], config: JSONValue, label: String) {
        self.source = source; self.config = config; self.label = label
        var m: [String: CheckpointTensor] = [:]
        for t in tensors { m[t.name] = t }
        byName = m
    }

    public func shape(of name: String) -> [Int]? { byName[name]?.entry.shape }

    public func rows(_ name: String, start: Int, count: Int) throws -> [Float] {
        guard let t = byName[name] else { throw RuntimeError.missingTensor(name, in: label) }
        return try source.readRows(t, start: start, count: count)
    }
}

public typealias CheckpointWeights = SourceWeights<Checkpoint>
public typealias GGUFWeights = SourceWeights<GGUFSource>

extension SourceWeights where Source == Checkpoint {
    public convenience init(folder: String) throws {
        let c = try Checkpoint(folder: folder)
        self.init(source: c, tensors: c.tensors, config: c.config, label: "checkpoint \(c.folder)")
    }

    public var checkpoint: Checkpoint { source }
}

extension SourceWeights where Source == GGUFSource {
    public convenience init(path: String) throws {
        let g = try GGUFSource(path: path)
        self.init(source: g, tensors: g.tensors, config: g.config, label: "gguf \(g.location)")
    }
}

/// Weights of a UQCIT package: every read is `PackageReader.reconstructRows` (dequantized, de-rotated, with
/// the low-rank compensation added), so the forward pass sees exactly the weights the package encodes.
public final class PackageWeights: WeightProvider, @unchecked Sendable {
    public let reader: PackageReader
    public let config: JSONValue
    private let shapes: [String: [Int]]

    public init(path: String) throws {
        reader = try PackageReader(path: path)
        config = try JSONValue.parse(reader.config)
        var s: [String: [Int]] = [:]
        for (_, t) in reader.tensors { s[t.name] = t.shape }
        shapes = s
    }

    public var label: String { "package \(reader.path)" }
    public func shape(of name: String) -> [Int]? { shapes[name] }

    public func rows(_ name: String, start: Int, count: Int) throws -> [Float] {
        try reader.reconstructRows(name, start: start, count: count)
    }
}

/// Opens a folder as a package when it has uqcit_metadata.json, else as a checkpoint.
public func openWeights(_ path: String) throws -> WeightProvider {
    if FileManager.default.fileExists(atPath: path + "/uqcit_metadata.json") { return try PackageWeights(path: path) }
    return try CheckpointWeights(folder: path)
}
