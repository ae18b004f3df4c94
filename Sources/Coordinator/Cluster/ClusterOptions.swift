import Pipeline

/// How the coordinator serves workers beyond the embedded ones.
public struct ClusterOptions: Sendable {
    /// tcp:// endpoints to bind besides the embedded inproc:// one, e.g. "tcp://0.0.0.0:5555".
    public var bind: [String]
    public var heartbeat: HeartbeatSettings
    public var curve: CurveServerSettings?
    /// Allows plain TCP on addresses other than loopback.
    public var insecure: Bool
    public var maxAttempts: Int
    public var storage: StorageMode
    /// Results refused by validation before a worker is quarantined (given no more tasks).
    public var maxInvalidResults: Int
    public var leaseDeadlines: LeaseDeadlines
    /// Once the ready queue is empty, workers with free credits get backup leases of still running tasks; the
    /// first valid result wins (MapReduce's backup tasks: a straggler no longer sets the job's end).
    public var backupTasks = false
    /// Internal, so only code of this module (the simulation) can choose `.accounted`.
    var stagedOutputs = StagedOutputs.verified

    public init(bind: [String] = [], heartbeat: HeartbeatSettings = .init(), curve: CurveServerSettings? = nil,
                insecure: Bool = false, maxAttempts: Int = 3, storage: StorageMode = .shared, maxInvalidResults: Int = 3,
                leaseDeadlines: LeaseDeadlines = .init()) {
        self.bind = bind; self.heartbeat = heartbeat; self.curve = curve; self.insecure = insecure; self.maxAttempts = maxAttempts
        self.storage = storage; self.maxInvalidResults = maxInvalidResults
        self.leaseDeadlines = leaseDeadlines
    }

    /// Plain TCP reaches only this machine unless the operator says otherwise: anything else needs CURVE keys.
    public func checkBindPolicy() throws {
        _ = try heartbeat.validated()
        _ = try leaseDeadlines.validated()
        guard maxInvalidResults >= 1 else { throw JobError.invalid("max_invalid_results must be 1 or more, got \(maxInvalidResults)") }
        guard curve == nil, !insecure else { return }
        for endpoint in bind {
            guard endpoint.hasPrefix("tcp://") else {
                throw JobError.invalid("cannot bind \(endpoint): only tcp:// endpoints are served to workers")
            }
            let host = Self.host(of: endpoint)
            guard ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host) else {
                throw JobError.invalid("refusing to bind \(endpoint) without CurveZMQ keys: plain TCP is allowed on loopback only; "
                                       + "configure keys (coordinator keys generate) or pass --insecure")
            }
        }
    }

    static func host(of endpoint: String) -> String {
        let rest = endpoint.dropFirst("tcp://".count)
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { return String(rest[...close]) }
        return String(rest.split(separator: ":", maxSplits: 1).first ?? "")
    }
}
