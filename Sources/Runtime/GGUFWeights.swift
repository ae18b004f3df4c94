import Engine

/// Weights of a `.gguf` file read as a source (Llama family): every tensor dequantized to f32 per row range,
/// under its Hugging Face name and row order, as `GGUFSource` presents it to the planner.
public final class GGUFWeights: WeightProvider, @unchecked Sendable {
    public let source: GGUFSource
    private let byName: [String: CheckpointTensor]

    public init(path: String) throws {
        source = try GGUFSource(path: path)
        var m: [String: CheckpointTensor] = [:]
        for t in source.tensors { m[t.name] = t }
        byName = m
    }

    public var config: JSONValue { source.config }
    public var label: String { "gguf \(source.location)" }
    public func shape(of name: String) -> [Int]? { byName[name]?.entry.shape }

    public func rows(_ name: String, start: Int, count: Int) throws -> [Float] {
        guard let t = byName[name] else { throw RuntimeError.missingTensor(name, in: label) }
        return try source.readRows(t, start: start, count: count)
    }
}
