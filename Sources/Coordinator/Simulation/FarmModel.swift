import Foundation
import Engine
import Pipeline

/// The simulated farm: how many workers, how fast each one works, and the faults to inject.
public struct FarmModel: Sendable {
    public var workers: Int
    /// Parameters a worker gets through per second, in millions: a task holds its worker for its parameters
    /// (`LeaseDeadlines.parameters`) over this, times `timeFactor`.
    public var mparamsPerSecond: Double
    /// Scales every modelled duration, so that a job of hours runs in minutes.
    public var timeFactor: Double
    /// This share of the workers is `slowdown` times slower.
    public var slowFraction: Double
    public var slowdown: Double
    /// This share of the workers falls silent at once (no heartbeats, no results), `killAtSeconds` after they start.
    public var killFraction: Double
    public var killAtSeconds: Double?
    /// Threads that each poll a share of the workers' sockets.
    public var pollerThreads: Int

    public init(workers: Int, mparamsPerSecond: Double = 20, timeFactor: Double = 1, slowFraction: Double = 0, slowdown: Double = 1,
                killFraction: Double = 0, killAtSeconds: Double? = nil, pollerThreads: Int = 4) {
        self.workers = workers; self.mparamsPerSecond = mparamsPerSecond; self.timeFactor = timeFactor
        self.slowFraction = slowFraction; self.slowdown = slowdown; self.killFraction = killFraction
        self.killAtSeconds = killAtSeconds; self.pollerThreads = pollerThreads
    }

    /// Refuses values that would stall the simulation or make no sense (negative, NaN, fractions above one).
    public func validated() throws(JobError) -> FarmModel {
        guard workers >= 1 else { throw .invalid("a simulation needs at least one worker, got \(workers)") }
        guard mparamsPerSecond.isFinite, mparamsPerSecond > 0 else { throw .invalid("worker throughput must be > 0 M params/s, got \(mparamsPerSecond)") }
        guard timeFactor.isFinite, timeFactor >= 0 else { throw .invalid("the time factor must be >= 0, got \(timeFactor)") }
        for (name, f) in [("slow", slowFraction), ("kill", killFraction)] where !(f >= 0 && f <= 1) {
            throw .invalid("the \(name) fraction must be within 0...1, got \(f)")
        }
        guard slowdown.isFinite, slowdown >= 1 else { throw .invalid("the slowdown must be >= 1, got \(slowdown)") }
        if let t = killAtSeconds, !(t.isFinite && t >= 0) { throw .invalid("--at must be >= 0 seconds, got \(t)") }
        guard killFraction == 0 || killAtSeconds != nil else { throw .invalid("--kill-fraction needs --at SECONDS") }
        guard (1...64).contains(pollerThreads) else { throw .invalid("poller threads must be within 1...64, got \(pollerThreads)") }
        return self
    }

    /// Seconds a task holds a worker of normal speed.
    func nominalSeconds(_ task: TaskSpec) -> Double {
        Double(LeaseDeadlines.parameters(of: task)) / (mparamsPerSecond * 1e6) * timeFactor
    }

    /// Worker `index` is among the `fraction` picked, spread evenly over the indices; `phase` (0..<1) shifts the
    /// pick so that slow and killed workers are different ones.
    static func picks(_ index: Int, fraction: Double, phase: Double) -> Bool {
        (Double(index + 1) * fraction + phase).rounded(.down) > (Double(index) * fraction + phase).rounded(.down)
    }

    func isSlow(_ index: Int) -> Bool { Self.picks(index, fraction: slowFraction, phase: 0.5) }
    func isKilled(_ index: Int) -> Bool { Self.picks(index, fraction: killFraction, phase: 0) }
}
