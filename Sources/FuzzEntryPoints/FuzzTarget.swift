/// The fuzz targets, each a function of one input that must return (errors are fine) and never trap. The
/// libFuzzer binary (Fuzz/) and the corpus replay tests call the same functions.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case safetensors, envelope, journal, package, gguf, sentencepiece

    public func run(_ input: [UInt8]) {
        switch self {
        case .safetensors: SafetensorsEntry.run(input)
        case .envelope: EnvelopeEntry.run(input)
        case .journal: JournalEntry.run(input)
        case .package: PackageEntry.run(input)
        case .gguf: GGUFEntry.run(input)
        case .sentencepiece: SentencePieceEntry.run(input)
        }
    }
}
