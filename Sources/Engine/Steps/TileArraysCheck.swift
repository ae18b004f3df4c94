/// What `TileCodec.decode` reads, checked first: every array its layout needs, at exactly the size that layout
/// implies, and every index inside the tile. Packages, staged tiles and streamed tiles all come from disk or the
/// network, and this module is compiled without runtime checks on indices.
extension TileCodec {
    /// Throws `PackageError.invalid` naming `file` and `tensor` for the first array that is missing or the wrong size.
    public static func checkArrays(_ arrays: [String: NamedArray], rows: Int, layout: QuantizedTensorLayout,
                                   file: String, tensor: String) throws(PackageError) {
        func bad(_ reason: String) -> PackageError { .invalid(path: file, reason: "tensor '\(tensor)': \(reason)") }
        func require(_ name: String, bytes: Int) throws(PackageError) -> NamedArray {
            guard let a = arrays[name] else { throw bad("array \(name) is missing") }
            guard a.bytes.count == bytes else { throw bad("array \(name) holds \(a.bytes.count) bytes, its layout needs \(bytes)") }
            return a
        }
        let cols = layout.columns
        guard rows >= 0, cols >= 0 else { throw bad("\(rows) rows of \(cols) columns") }
        if let problem = layout.rotation.problem(columns: cols) { throw bad(problem) }
        if let type = layout.ggml {
            guard let rowBytes = type.rowBytes(columns: cols) else { throw bad("\(cols) columns are not whole \(type) blocks") }
            _ = try require(ggmlBlocks, bytes: rows * rowBytes)
            return
        }
        func checkPart(_ part: PartLayout, _ prefix: String) throws(PackageError) {
            guard part.columns >= 0 else { throw bad("part \(prefix) has \(part.columns) columns") }
            if part.format == .fp16 {
                _ = try require(prefix + ".values", bytes: rows * part.columns * 2)
                return
            }
            guard part.groupSize > 0 else { throw bad("part \(prefix) has groups of \(part.groupSize) columns") }
            let groups = (part.columns + part.groupSize - 1) / part.groupSize
            _ = try require(prefix + ".codes", bytes: rows * part.format.packedBytes(count: part.columns))
            _ = try require(prefix + ".scales", bytes: rows * groups * 2)
            if !part.symmetric || arrays[prefix + ".mins"] != nil { _ = try require(prefix + ".mins", bytes: rows * groups * 2) }
        }
        switch layout.granularity {
        case .channel:
            var last = -1
            for c in layout.highColumns {
                guard c > last && c < cols else { throw bad("high columns are not strictly ascending within [0, \(cols))") }
                last = c
            }
            if let high = layout.high {
                guard high.columns == layout.highColumns.count else { throw bad("high part of \(high.columns) columns for \(layout.highColumns.count) high columns") }
                try checkPart(high, "hi")
            } else if !layout.highColumns.isEmpty {
                throw bad("high columns without a high part")
            }
            guard layout.low.columns == cols - layout.highColumns.count else { throw bad("low part of \(layout.low.columns) columns") }
            try checkPart(layout.low, "lo")
        case .element:
            guard layout.low.columns == cols else { throw bad("low part of \(layout.low.columns) columns for \(cols)") }
            try checkPart(layout.low, "lo")
            let counts = try require("sparse.counts", bytes: rows * 4).int32Values
            guard counts.allSatisfy({ $0 >= 0 && Int($0) <= cols }) else { throw bad("sparse counts outside [0, \(cols)]") }
            let total = counts.reduce(0) { $0 + Int($1) }
            let columns = try require("sparse.columns", bytes: total * 4).int32Values
            guard columns.allSatisfy({ $0 >= 0 && Int($0) < cols }) else { throw bad("sparse columns outside [0, \(cols))") }
            if (layout.sparseFormat ?? .fp16) == .int8 {
                _ = try require("sparse.values", bytes: total)
                _ = try require("sparse.scales", bytes: rows * 2)
            } else {
                _ = try require("sparse.values", bytes: total * 2)
            }
        }
    }
}
