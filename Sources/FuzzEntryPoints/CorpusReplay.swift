import Foundation

extension FuzzTarget {
    /// Runs every file in `folder` (a corpus: seeds and crash reproducers) through the target; returns how many
    /// ran. A trap here is the failure the corpus exists to catch.
    public func replay(folder: String) throws -> Int {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        for name in names {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else { continue }
            run([UInt8](data))
        }
        return names.count
    }
}
