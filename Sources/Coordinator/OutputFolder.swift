import Foundation
import Engine

/// The job's own state inside the output folder (`.uqcit/`): the job identity, staging tiles, journal and run
/// log. Everything else in the folder is the package. A folder that holds a different job is refused.
public struct OutputFolder {
    public let path: String
    public var stateFolder: String { path + "/.uqcit" }
    public var stagingFolder: String { stateFolder + "/staging" }
    public var jobFile: String { stateFolder + "/job.json" }
    public var journalFile: String { stateFolder + "/journal" }
    public var metadataFile: String { path + "/uqcit_metadata.json" }

    public struct JobIdentity: Codable, Equatable {
        public var sourceFingerprint: String
        public var profileHash: String
        public var layers: String?
        /// SHA-256 of the importance matrix (`--imatrix`), if any.
        public var importanceMatrix: String?
        /// A calibrated job's text: its SHA-256 and the tokens used, so a resume on other text is refused.
        public var calibration: String?

        public init(sourceFingerprint: String, profileHash: String, layers: String?, importanceMatrix: String? = nil, calibration: String? = nil) {
            self.sourceFingerprint = sourceFingerprint; self.profileHash = profileHash; self.layers = layers
            self.importanceMatrix = importanceMatrix
            self.calibration = calibration
        }
    }

    public enum State { case fresh, resumable, complete }

    public init(path: String) { self.path = path }

    /// Claims the folder for this job: creates it, or checks that what is there is this same job.
    public func claim(_ identity: JobIdentity) throws -> State {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw PackageError.outputInUse(path: path, reason: "exists and is not a folder") }
            if let data = fm.contents(atPath: jobFile) {
                guard let existing = try? PackageJSON.decode(JobIdentity.self, from: Array(data)) else {
                    throw PackageError.outputInUse(path: path, reason: "\(jobFile) is unreadable; remove the folder or choose another --out")
                }
                guard existing == identity else {
                    let what = existing.sourceFingerprint != identity.sourceFingerprint ? "a different source model" :
                        existing.profileHash != identity.profileHash ? "a different profile" :
                        existing.layers != identity.layers ? "a different layer range" :
                        existing.calibration != identity.calibration ? "different calibration text (\(existing.calibration ?? "none"))" : "a different importance matrix"
                    throw PackageError.outputInUse(path: path, reason: "holds a job for \(what); remove it or choose another --out")
                }
                return fm.fileExists(atPath: metadataFile) ? .complete : .resumable
            }
            let entries = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            guard entries.isEmpty else {
                throw PackageError.outputInUse(path: path, reason: "is not empty and holds no uqcit job; choose an empty or new folder")
            }
        }
        try fm.createDirectory(atPath: stagingFolder, withIntermediateDirectories: true)
        try AtomicFileWriter.write(PackageJSON.encode(identity), to: jobFile)
        return .fresh
    }

    /// Temp files of writes a crash interrupted: never part of the result. Only under the folder's lock: another
    /// coordinator's temporaries are in flight, not stray.
    public func removeStrayTemporaries() {
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: path) else { return }
        for case let rel as String in e where rel.hasSuffix(AtomicFileWriter.temporarySuffix) {
            try? fm.removeItem(atPath: path + "/" + rel)
        }
    }
}
