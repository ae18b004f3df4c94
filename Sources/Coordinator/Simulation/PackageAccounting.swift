import Engine
import Pipeline

/// A simulated package, accounted instead of written: per folder, the bytes its files would hold and a digest of
/// what went into them (each staged output's name, size and digest; each tensor kept at source precision). Two
/// runs of one job, with or without a coordinator crash, with or without backup tasks, must give equal accounts.
public struct PackageAccounting: Codable, Sendable, Equatable {
    public struct Folder: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var sha256: String
    }

    public var folders: [Folder]
    public var bytes: Int
    public var sha256: String

    /// The folders in the plan's order; each must have been accounted.
    init(plan: JobPlan, accounted: [String: TaskOutputFile]) throws {
        folders = try plan.folders.map { name in
            guard let f = accounted[name] else { throw JobError.invalid("folder \(name) was never accounted") }
            return Folder(name: name, bytes: f.size, sha256: f.sha256)
        }
        bytes = folders.reduce(0) { $0 + $1.bytes }
        sha256 = Digest.sha256Hex(Array(folders.map { "\($0.name) \($0.bytes) \($0.sha256)\n" }.joined().utf8))
    }

    /// The accounted stand-in for `layers/<folder>/weights.quant`, from the folder's finished tasks, journaled as
    /// the folder's one file.
    static func account(folder: String, plan: JobPlan, results: TaskResults) -> TaskOutputFile {
        var lines: [String] = []
        var bytes = 0
        for (i, a) in plan.assignments.enumerated() where a.folder == folder {
            let e = a.tensor.entry
            guard a.isQuantized else {
                lines.append("\(a.name) source \(e.end - e.begin)")
                bytes += e.end - e.begin
                continue
            }
            for f in (results.stagedFiles[i] ?? [:]).values.sorted(by: { $0.name < $1.name }) {
                lines.append("\(a.name) \(f.name) \(f.size) \(f.sha256)")
                bytes += f.size
            }
            // The high-column index, as int32.
            let columns = results.analyses[i]?.highColumns.count ?? 0
            lines.append("\(a.name) columns \(columns)")
            bytes += 4 * columns
        }
        return TaskOutputFile(name: "layers/\(folder)/weights.quant", size: bytes,
                              sha256: Digest.sha256Hex(Array(lines.joined(separator: "\n").utf8)))
    }
}
