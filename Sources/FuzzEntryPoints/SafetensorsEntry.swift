import Engine

/// A safetensors file: the header parsed from bytes, then the file opened and every tensor's first rows read.
enum SafetensorsEntry {
    static func run(_ input: [UInt8]) {
        _ = try? SafetensorsHeader.parse(prefix: input, fileSize: input.count, file: "fuzz.safetensors")
        guard let file = try? SafetensorsFile(path: ScratchFolder.write(input, as: "fuzz.safetensors")) else { return }
        for t in file.tensors {
            _ = try? file.readRows(t, start: 0, count: min(t.rows, 2))
        }
    }
}
