/// A FIFO of task ids that drops its consumed prefix now and then, so a frontier-scale queue does not keep
/// every id it ever held.
struct TaskQueue {
    private var ids: [String] = []
    private var head = 0

    mutating func append(_ id: String) { ids.append(id) }

    mutating func popFirst() -> String? {
        guard head < ids.count else { return nil }
        defer {
            head += 1
            if head >= 4096 && head * 2 >= ids.count { ids.removeFirst(head); head = 0 }
        }
        return ids[head]
    }
}
