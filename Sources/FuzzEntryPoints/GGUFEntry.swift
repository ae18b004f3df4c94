import Engine

/// A GGUF file: opened as a file (every tensor's first rows read) and as a model source (hyper-parameters,
/// tokenizer, tensor names).
enum GGUFEntry {
    static func run(_ input: [UInt8]) {
        let path = ScratchFolder.write(input, as: "fuzz.gguf")
        if let file = try? GGUFFile(path: path) {
            for t in file.tensors {
                _ = try? file.readRows(t, start: 0, count: min(t.rows, 2))
            }
        }
        if let source = try? GGUFSource(path: path) {
            for t in source.tensors {
                _ = try? source.readRows(t, start: 0, count: min(t.entry.rows, 2))
            }
        }
    }
}
