import Foundation
import Engine
import Pipeline

/// What a journal proves is already done, checked against the files on disk, applied to a fresh scheduler.
struct ResumeState {
    /// Intact records in the journal: none for a job that starts fresh.
    var records = 0
    /// Bytes covered by intact records, where appending resumes (`Journal(path:intactBytes:)`).
    var intactBytes = 0
    var restoredTasks = 0
    /// Folders assembled by an earlier run whose files still hash as recorded, with their reports.
    var assembledFolders: [String: [TensorReport]] = [:]
    /// Their files as journaled (a simulation's: the accounted folder).
    var assembledFiles: [String: [TaskOutputFile]] = [:]

    /// Replays the journal at `path` into `scheduler`, streaming it twice: first the plan and the folders, then
    /// the tasks. A task counts as done only if its output files still have the recorded size and SHA-256;
    /// anything else runs again. The tasks of an assembled and verified folder are done with it: their records
    /// are skipped undecoded (unless the plan waits for a bit allocation, which needs every measurement), so
    /// a resume decodes only the records of folders still in flight.
    static func replay(journal path: String, plan: JobPlan, scheduler: JobScheduler, out: OutputFolder,
                       layers: String?, outputs: StagedOutputs = .verified, log: ClusterLog) throws -> ResumeState {
        var state = ResumeState()
        // A simulation's outputs are accounted, never written: there are no files to check them against.
        let matches: ([TaskOutputFile], String) -> Bool = outputs == .verified ? { verify($0, root: $1) } : { _, _ in true }
        var planChecked = false
        var failure: Error?
        let scan = try JournalReader.forEach(path: path) { payload in
            state.records += 1
            let kind = JournalReader.kind(payload)
            guard !planChecked || kind == "folder" else { return true }
            guard let record = try? PackageJSON.decode(JournalRecord.self, from: Array(payload)) else { return false }
            switch record {
            case let .plan(fingerprint, profileHash, plannedLayers, tasks) where !planChecked:
                planChecked = true
                if fingerprint != plan.sourceFingerprint || profileHash != plan.profile.hash || plannedLayers != layers {
                    failure = PackageError.outputInUse(path: out.path, reason: "its journal was planned for a different source, profile or layer range; remove it or choose another --out")
                } else if tasks != plan.taskCount {
                    failure = PackageError.outputInUse(path: out.path, reason: "its journal planned \(tasks) tasks, this plan has \(plan.taskCount)")
                }
            case let .folder(name, files, reports):
                if matches(files, out.path) {
                    state.assembledFolders[name] = reports
                    state.assembledFiles[name] = files
                } else {
                    state.assembledFolders[name] = nil
                    state.assembledFiles[name] = nil
                    log("folder \(name) does not match the journal; it will be assembled again")
                }
            default:
                planChecked = true
            }
            return true
        }
        if let failure { throw failure }
        state.intactBytes = scan.intactBytes
        guard scan.intactBytes > 0 else { return state }

        // Not for a calibrated plan either: its layer passes are tasks of no tensor, restored only by replay.
        let skipAssembled = !plan.needsAllocation && plan.calibration == nil
        if skipAssembled {
            for folder in plan.folders where state.assembledFolders[folder] != nil { state.restoredTasks += scheduler.restoreAssembled(folder: folder) }
        }
        let folderOf = plan.assignments.map(\.folder)
        let tasks = try JournalReader.forEach(path: path) { payload in
            guard JournalReader.kind(payload) == "done" else { return true }
            if skipAssembled, let id = JournalReader.doneTask(payload), let i = tensorIndex(ofTaskID: id), i < folderOf.count,
               state.assembledFolders[folderOf[i]] != nil {
                return true
            }
            guard let record = try? PackageJSON.decode(JournalRecord.self, from: Array(payload)) else { return false }
            guard case let .done(task, _, _, outcome) = record, let spec = scheduler.readyTask(task) else { return true }
            do { try ResultValidator.check(outcome, against: spec) } catch {
                log("journal record for task \(task) fails validation (\(error)); the task is not done and will run again")
                return true
            }
            // A layer pass's files are removed with the block that reads them (its own H, the next block's X): once
            // that block's folder is assembled they are not needed again, before that they must still be staged.
            let folder = plan.assignments[spec.layerPass.map { plan.calibration!.readerAnchor(of: spec.kind, $0) } ?? spec.tensorIndex].folder
            guard state.assembledFolders[folder] != nil || matches(outcome.outputs, out.stagingFolder) else {
                log("task \(task): its staged output does not match the journal; it will run again")
                return true
            }
            if try scheduler.restore(outcome) { state.restoredTasks += 1 }
            return true
        }
        state.intactBytes = min(state.intactBytes, tasks.intactBytes)
        return state
    }

    /// The tensor a task id names (`A12`, `Q12.3`, `C12`, `M12`: see `TaskSpec`).
    static func tensorIndex(ofTaskID id: Substring) -> Int? {
        Int(id.dropFirst().prefix { $0 != "." })
    }

    /// Every file present with the recorded size and SHA-256, or the recorded segments (`FileSegments`).
    static func verify(_ files: [TaskOutputFile], root: String) -> Bool {
        files.allSatisfy { f in
            let path = root + "/" + f.name
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == f.size else { return false }
            if let segments = f.segments {
                return FileSegments.listDigest(segments) == f.sha256 && FileSegments.verify(segments, path: path, size: size)
            }
            return (try? Digest.sha256Hex(file: path)) == f.sha256
        }
    }
}
