import Foundation

/// Runs independent items on all cores and returns their results in item order (so the output never depends
/// on the scheduling); the first error, by item order, is rethrown.
public enum Parallel {
    public static func map<T: Sendable>(_ count: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let slots = ResultSlots<T>(count)
        DispatchQueue.concurrentPerform(iterations: count) { i in slots.set(i, Result { try body(i) }) }
        return try slots.values.map { try $0!.get() }
    }
}

private final class ResultSlots<T>: @unchecked Sendable {
    private(set) var values: [Result<T, Error>?]
    private let lock = NSLock()
    init(_ n: Int) { values = Array(repeating: nil, count: n) }
    func set(_ i: Int, _ r: Result<T, Error>) { lock.lock(); values[i] = r; lock.unlock() }
}
