import Foundation
import Pipeline
import UQCITProtocol

/// Stream mode: the pieces of task outputs that workers send up.
extension BrokerCore {
    /// Acknowledged whatever happens, so the worker's window moves on. A lease lets a worker write only the
    /// files its task produces, each no larger than the task may write, nothing else in the staging folder.
    func receiveChunk(_ id: [UInt8], _ c: Uqcit_V2_Chunk) {
        var ack = Uqcit_V2_ChunkAck()
        ack.taskID = c.taskID; ack.credits = 1
        defer { _ = send(id, Messages.envelope(wire.jobID, .chunkAck(ack))) }
        guard leases.holds(c.taskID, worker: id, attempt: Int(c.attempt)) else {
            complain(id, "ignoring a chunk of \(LogText.escaped(c.fileName)) for task \(LogText.escaped(c.taskID)) attempt \(c.attempt) from \(label(id)): no such lease")
            return
        }
        guard let task = scheduler.runningTask(c.taskID), let maxBytes = ResultValidator.expectedOutputs(task)[c.fileName] else {
            complain(id, "\(label(id)): a chunk of '\(LogText.escaped(c.fileName))', which task \(c.taskID) does not write; ignored")
            return
        }
        do {
            try workers[id]!.inbox.receive(c, maxBytes: maxBytes)
            streamed.bytes += c.data.count
            if c.last { streamed.files += 1 }
        } catch {
            complain(id, "\(label(id)): bad chunk for task \(c.taskID): \(error)")
        }
    }
}
