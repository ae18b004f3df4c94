/// Stream mode: the staged files the coordinator sent ahead of tasks, counted by the tasks that read them, so each
/// leaves this worker's staging once the last of those tasks has answered. A long calibrated job would otherwise
/// keep every activation and H shard it was ever sent. (Two tasks may be sent the same file: it stays until both
/// have answered.)
struct StreamedInputs {
    private var byTask: [String: [String]] = [:]
    private var readers: [String: Int] = [:]

    /// The whole of file `name` has arrived for `task`.
    mutating func arrived(_ name: String, for task: String) {
        byTask[task, default: []].append(name)
        readers[name, default: 0] += 1
    }

    /// `task` has answered (result or failure): the files no task still reads, to remove.
    mutating func answered(_ task: String) -> [String] {
        var unread: [String] = []
        for name in byTask.removeValue(forKey: task) ?? [] {
            readers[name, default: 1] -= 1
            if readers[name] == 0 {
                readers[name] = nil
                unread.append(name)
            }
        }
        return unread
    }
}
