/// Stream mode: which staged files a worker holds and which of the tasks leased to it read each. A file goes down
/// once while tasks on that worker read it (a linear's H shards serve all its tiles there: at a frontier width one
/// shard is gigabytes); when the last lease reading it ends, it is released, and the next assignment to the worker
/// tells it to remove the file. Only the coordinator decides, so a file is never removed under a task that reads it.
struct StreamedInputLedger {
    private var readers: [String: Set<String>] = [:]
    private var inputs: [String: [String]] = [:]
    /// Released files the worker has not been told of yet, in release order.
    private var released: [String] = []

    /// Task `task`, leased to the worker, reads `names`: those the worker does not hold, to send ahead of it.
    mutating func lease(_ task: String, reads names: [String]) -> [String] {
        var send: [String] = []
        for name in names {
            if readers[name] == nil {
                // A release not yet sent is taken back: the worker still has the file.
                if let k = released.firstIndex(of: name) { released.remove(at: k) } else { send.append(name) }
            }
            readers[name, default: []].insert(task)
        }
        inputs[task, default: []] += names
        return send
    }

    /// The lease of `task` on this worker ended (result, failure, refusal or deadline).
    mutating func end(_ task: String) {
        for name in inputs.removeValue(forKey: task) ?? [] {
            readers[name]?.remove(task)
            if readers[name]?.isEmpty == true {
                readers[name] = nil
                released.append(name)
            }
        }
    }

    /// The files to list in the next assignment's release_inputs, once each.
    mutating func takeReleases() -> [String] {
        defer { released = [] }
        return released
    }
}
