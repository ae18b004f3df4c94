import Foundation
import Engine

/// A package whose one layer folder holds the input as its weights.quant (the metadata and config are a real
/// package's): opened by PackageReader, then the first rows of every tensor reconstructed through TileCodec.
enum PackageEntry {
    private static let root: String = {
        let root = ScratchFolder.path + "/package"
        try? FileManager.default.createDirectory(atPath: root + "/layers/layer_000", withIntermediateDirectories: true)
        let metadata = Bundle.module.url(forResource: "uqcit_metadata", withExtension: "json").flatMap { FileManager.default.contents(atPath: $0.path) }
        FileManager.default.createFile(atPath: root + "/uqcit_metadata.json", contents: metadata)
        FileManager.default.createFile(atPath: root + "/config.json", contents: Data("{}".utf8))
        return root
    }()

    static func run(_ input: [UInt8]) {
        let root = root
        _ = ScratchFolder.write(input, as: "package/layers/layer_000/weights.quant")
        guard let reader = try? PackageReader(path: root) else { return }
        for (_, t) in reader.tensors {
            _ = try? reader.reconstructRows(t.name, start: 0, count: min(t.shape.first ?? 1, 2))
        }
    }
}
