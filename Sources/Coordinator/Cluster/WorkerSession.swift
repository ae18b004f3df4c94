import Foundation
import Pipeline

/// A worker the broker has welcomed.
struct WorkerSession {
    let name: String
    let address: String
    let threads: Int
    var credits = 0
    var leases: Set<String> = []
    var lastHeard: Date
    /// Results refused by `ResultValidator`; at `ClusterOptions.maxInvalidResults` the worker is quarantined.
    var invalidResults = 0
    var quarantined = false
    /// Everything sent to the worker goes through here, so task inputs streamed to it precede their assignment.
    var outbox = StreamOutbox()
    var inbox: StreamInbox
    /// Stream mode: the staged files sent to the worker that its leased tasks read.
    var streamedInputs = StreamedInputLedger()
}
