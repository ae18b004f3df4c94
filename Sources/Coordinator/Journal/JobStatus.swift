import Foundation
import Engine

/// What `coordinator status` reports, read from the journal alone (the coordinator may be running or dead).
public struct JobStatus: Codable, Sendable {
    public struct TaskAttempts: Codable, Sendable {
        public var task: String
        public var attempts: Int
        public var doneOnAttempt: Int?
        public var workers: [String]
    }
    public struct WorkerSeen: Codable, Sendable {
        public var name: String
        public var peer: String
        public var threads: Int
        public var tasksDone: Int
    }

    public var tasks: Int
    public var done: Int
    /// DONE records in the journal: more than `done` means a finished task ran again and was journaled twice.
    public var doneRecords: Int
    /// Leased and not (yet) done: running if the coordinator is alive.
    public var leased: Int
    public var left: Int
    public var foldersAssembled: Int
    public var sessions: Int
    public var skippedOnResume: [Int]
    public var complete: Bool
    /// Tasks leased more than once, with every worker that held them.
    public var retried: [TaskAttempts]
    public var workers: [WorkerSeen]
    /// Bytes after the last intact record: a write a crash cut off (cut away when the coordinator resumes).
    public var tornTailBytes: Int

    /// Streams the journal: the whole of a frontier-scale journal is never held, and of each DONE record only
    /// its task, attempt and worker are decoded.
    public static func read(outputFolder: String) throws -> JobStatus {
        let path = OutputFolder(path: outputFolder).journalFile
        guard FileManager.default.fileExists(atPath: path) else {
            throw PackageError.invalid(path: path, reason: "no journal: not a uqcit output folder, or the job never started")
        }
        var tally = Tally()
        let scan = try JournalReader.forEach(path: path) { payload in
            if JournalReader.kind(payload) == "done", let d = try? PackageJSON.decode(DoneHeader.self, from: Array(payload)) {
                tally.done(d.done.task, attempt: d.done.attempt, worker: d.done.worker)
                return true
            }
            guard let r = try? PackageJSON.decode(JournalRecord.self, from: Array(payload)) else { return false }
            tally.add(r)
            return true
        }
        return tally.status(tornTailBytes: scan.fileBytes - scan.intactBytes)
    }

    static func summarise(_ journal: Journal.Contents) -> JobStatus {
        var tally = Tally()
        for r in journal.records { tally.add(r) }
        return tally.status(tornTailBytes: journal.fileBytes - journal.intactBytes)
    }

    /// A DONE record without its outcome, which `coordinator status` does not need.
    private struct DoneHeader: Decodable {
        struct Fields: Decodable { var task: String; var attempt: Int; var worker: String }
        var done: Fields
    }

    /// The status so far, one record at a time.
    struct Tally {
        var tasks = 0, sessions = 0, folders = Set<String>(), complete = false, skipped: [Int] = []
        var leases: [String: [(attempt: Int, worker: String)]] = [:]
        var doneTasks: [String: (attempt: Int, worker: String)] = [:]
        var doneRecords = 0
        var workers: [String: WorkerSeen] = [:]
        var workerOrder: [String] = []

        mutating func add(_ r: JournalRecord) {
            switch r {
            case let .plan(_, _, _, n): tasks = n; sessions += 1
            case let .resume(n, _): sessions += 1; skipped.append(n)
            case let .lease(t, a, w): leases[t, default: []].append((a, w))
            case let .worker(name, peer, threads):
                if workers[name] == nil { workerOrder.append(name) }
                workers[name] = WorkerSeen(name: name, peer: peer, threads: threads, tasksDone: workers[name]?.tasksDone ?? 0)
            case let .done(t, a, w, _): done(t, attempt: a, worker: w)
            case let .folder(name, _, _): folders.insert(name)
            case .final: complete = true
            }
        }

        mutating func done(_ t: String, attempt a: Int, worker w: String) {
            doneRecords += 1
            if doneTasks[t] == nil { workers[w]?.tasksDone += 1 }
            doneTasks[t] = doneTasks[t] ?? (a, w)
        }

        func status(tornTailBytes: Int) -> JobStatus {
            let leasedOnly = leases.keys.filter { doneTasks[$0] == nil }.count
            let retried = leases.filter { $0.value.count > 1 }.keys.sorted().map { t in
                TaskAttempts(task: t, attempts: leases[t]!.count, doneOnAttempt: doneTasks[t]?.attempt, workers: leases[t]!.map(\.worker))
            }
            return JobStatus(tasks: tasks, done: doneTasks.count, doneRecords: doneRecords, leased: complete ? 0 : leasedOnly, left: tasks - doneTasks.count,
                             foldersAssembled: folders.count, sessions: sessions, skippedOnResume: skipped, complete: complete,
                             retried: retried, workers: workerOrder.map { workers[$0]! }, tornTailBytes: tornTailBytes)
        }
    }

    public var text: String {
        var lines = [complete ? "job complete" : "job in progress (or stopped)"]
        lines.append("tasks: \(done) done, \(leased) leased (running if the coordinator is alive), \(left) left, \(tasks) planned")
        if doneRecords > done { lines.append("journal: \(doneRecords) DONE records for \(done) tasks: \(doneRecords - done) finished task(s) ran again") }
        lines.append("folders assembled: \(foldersAssembled); coordinator sessions: \(sessions)"
                     + (skippedOnResume.isEmpty ? "" : "; tasks skipped on resume: " + skippedOnResume.map(String.init).joined(separator: ", ")))
        if !retried.isEmpty {
            lines.append("tasks leased more than once:")
            for t in retried {
                lines.append("  \(t.task): \(t.attempts) leases on \(t.workers.joined(separator: ", "))"
                             + (t.doneOnAttempt.map { ", done on attempt \($0)" } ?? ", not done"))
            }
        }
        lines.append("workers seen: \(workers.count)")
        for w in workers { lines.append("  \(w.name) from \(w.peer), \(w.threads) thread(s), \(w.tasksDone) task(s) done") }
        if tornTailBytes > 0 { lines.append("journal: \(tornTailBytes) bytes after the last intact record (a torn write)") }
        return lines.joined(separator: "\n")
    }
}
