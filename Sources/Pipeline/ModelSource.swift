import Engine

/// A model to compress: its headers and config for the planner, its rows for the steps. A checkpoint folder on
/// disk, a `.gguf` file (Llama family, dequantized to f32), or `synthetic:NAME`, a frontier model generated on read.
public protocol ModelSource: TensorRowSource {
    /// What workers are told to open: a folder path, a .gguf path or `synthetic:NAME`.
    var location: String { get }
    var config: JSONValue { get }
    var configBytes: [UInt8] { get }
    var tensors: [CheckpointTensor] { get }
    var modelType: String { get }
    var architectures: [String] { get }
    /// Identifies the source by headers and config alone, so a resume can refuse one that changed.
    func fingerprint() -> String
}

extension Checkpoint: ModelSource {
    public var location: String { folder }
}

extension SyntheticSource: ModelSource {}

extension GGUFSource: ModelSource {}

public enum ModelSources {
    public static func open(_ location: String) throws -> ModelSource {
        if location.hasPrefix(SyntheticSource.scheme) { return try SyntheticSource(name: String(location.dropFirst(SyntheticSource.scheme.count))) }
        if location.lowercased().hasSuffix(GGUFSource.fileExtension) { return try GGUFSource(path: location) }
        return try Checkpoint(folder: location)
    }
}
