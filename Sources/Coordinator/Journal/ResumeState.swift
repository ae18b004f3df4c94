import Foundation
import Engine
import Pipeline

/// What a journal proves is already done, checked against the files on disk, applied to a fresh scheduler.
struct ResumeState {
    var restoredTasks = 0
    /// Folders assembled by an earlier run whose files still hash as recorded, with their reports.
    var assembledFolders: [String: [TensorReport]] = [:]

    /// Replays `records` into `scheduler`. A task counts as done only if its output files still have the
    /// recorded size and SHA-256 (or its folder is assembled and verified); anything else runs again.
    static func replay(_ records: [JournalRecord], plan: JobPlan, scheduler: JobScheduler, out: OutputFolder,
                       layers: String?, log: ClusterLog) throws -> ResumeState {
        var state = ResumeState()
        for case let .plan(fingerprint, profileHash, plannedLayers, tasks) in records.prefix(1) {
            guard fingerprint == plan.sourceFingerprint, profileHash == plan.profile.hash, plannedLayers == layers else {
                throw PackageError.outputInUse(path: out.path, reason: "its journal was planned for a different source, profile or layer range; remove it or choose another --out")
            }
            guard tasks == plan.taskCount else {
                throw PackageError.outputInUse(path: out.path, reason: "its journal planned \(tasks) tasks, this plan has \(plan.taskCount)")
            }
        }
        for case let .folder(name, files, reports) in records {
            if verify(files, root: out.path) {
                state.assembledFolders[name] = reports
            } else {
                state.assembledFolders[name] = nil
                log("folder \(name) does not match the journal; it will be assembled again")
            }
        }
        for case let .done(task, _, _, outcome) in records {
            guard let spec = scheduler.readyTask(task) else { continue }
            do { try ResultValidator.check(outcome, against: spec) } catch {
                log("journal record for task \(task) fails validation (\(error)); the task is not done and will run again")
                continue
            }
            // A layer pass's files are removed with the block that reads them (its own H, the next block's X): once
            // that block's folder is assembled they are not needed again, before that they must still be staged.
            let folder = plan.assignments[spec.layerPass.map { plan.calibration!.readerAnchor(of: spec.kind, $0) } ?? spec.tensorIndex].folder
            guard state.assembledFolders[folder] != nil || verify(outcome.outputs, root: out.stagingFolder) else {
                log("task \(task): its staged output does not match the journal; it will run again")
                continue
            }
            if try scheduler.restore(outcome) { state.restoredTasks += 1 }
        }
        return state
    }

    /// Every file present with the recorded size and SHA-256.
    static func verify(_ files: [TaskOutputFile], root: String) -> Bool {
        files.allSatisfy { f in
            let path = root + "/" + f.name
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == f.size else { return false }
            return (try? Digest.sha256Hex(file: path)) == f.sha256
        }
    }
}
