import Foundation
import Engine
import UQCITProtocol

/// Stream storage mode: files cross ZeroMQ as Chunks of at most 16 MiB, `window` of them unacknowledged at a
/// time per peer (credit-based flow control: each ChunkAck returns credits), so a slow receiver bounds what
/// the sender holds in flight to window x 16 MiB.
public enum StorageMode: String, Sendable, Codable {
    /// Workers read sources and write tiles on a filesystem shared with the coordinator; only metadata travels.
    case shared
    /// No shared filesystem: outputs travel as Chunks, and the tiles a COMPENSATE task needs travel down to it.
    case stream
}

enum StreamTransfer {
    static let window = 4
}

/// What one side still has to send to one peer, in order: file pieces wait for credits, and any message queued
/// after a file waits behind it, so a TaskResult never overtakes its own outputs.
package struct StreamOutbox {
    package enum Item {
        case file(taskID: String, attempt: UInt32, name: String, path: String, removeAfter: Bool)
        case message([UInt8])
    }

    private var items: [Item] = []
    private var offset = 0
    private(set) var credits = StreamTransfer.window
    package private(set) var chunksSent = 0

    package init() {}

    package mutating func enqueue(_ item: Item) { items.append(item) }
    package mutating func grant(_ n: Int) { credits += n }

    /// Sends what credits allow; `send` returns false when the peer is gone.
    package mutating func pump(jobID: String, _ send: ([UInt8]) -> Bool) throws {
        while let head = items.first {
            switch head {
            case .message(let bytes):
                guard send(bytes) else { return }
                items.removeFirst()
            case let .file(taskID, attempt, name, path, removeAfter):
                guard credits > 0 else { return }
                guard let handle = FileHandle(forReadingAtPath: path) else {
                    throw PackageError.io(path: path, reason: "cannot open for streaming")
                }
                defer { try? handle.close() }
                let size = Int((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
                try handle.seek(toOffset: UInt64(offset))
                let data = try handle.read(upToCount: WireProtocol.maxChunkDataBytes) ?? Data()
                var c = Uqcit_V2_Chunk()
                c.taskID = taskID; c.attempt = attempt; c.fileName = name; c.offset = UInt64(offset); c.data = data
                c.last = offset + data.count >= size
                guard send(Messages.envelope(jobID, .chunk(c))) else { return }
                credits -= 1
                chunksSent += 1
                offset += data.count
                if c.last {
                    items.removeFirst()
                    offset = 0
                    if removeAfter { try? FileManager.default.removeItem(atPath: path) }
                }
            }
        }
    }
}

/// Files arriving as Chunks, written under `root` as temp files and renamed into place (after fsync) with the
/// last piece. Pieces of one file must arrive in order from offset 0. A peer may have at most `maxOpenFiles`
/// files half-sent, and each file grows only to the size its sender was told it may write.
package struct StreamInbox {
    package let root: String
    package let maxOpenFiles: Int
    private var open: [String: (task: String, handle: FileHandle, size: Int, temporary: String)] = [:]

    package init(root: String, maxOpenFiles: Int) { self.root = root; self.maxOpenFiles = maxOpenFiles }

    /// Names a peer may write: relative, no `..`, no hidden components.
    package static func isSafe(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("/") && name.split(separator: "/").allSatisfy { !$0.hasPrefix(".") && !$0.isEmpty }
    }

    /// Stores one piece of a file of at most `maxBytes`; throws with a reason when the piece is out of order,
    /// names a bad path, opens one file too many, or takes its file past `maxBytes` (whose partial copy is removed).
    package mutating func receive(_ c: Uqcit_V2_Chunk, maxBytes: Int) throws {
        guard Self.isSafe(c.fileName) else { throw JobError.invalid("chunk names an unsafe path '\(c.fileName)'") }
        let name = LogText.escaped(c.fileName)
        let path = root + "/" + c.fileName
        if c.offset == 0 {
            discard(file: c.fileName)
            guard open.count < maxOpenFiles else {
                throw JobError.invalid("chunk opens \(name) while \(open.count) file(s) are still arriving, the most this peer may send at once")
            }
            let temporary = AtomicFileWriter.temporaryName(for: path)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: temporary, contents: nil), let h = FileHandle(forWritingAtPath: temporary) else {
                throw PackageError.io(path: temporary, reason: "cannot create")
            }
            open[c.fileName] = (c.taskID, h, 0, temporary)
        }
        guard var f = open[c.fileName], f.size == Int(c.offset) else {
            throw JobError.invalid("chunk of \(c.fileName) at offset \(c.offset) arrived out of order")
        }
        guard c.data.count <= maxBytes - f.size else {
            discard(file: c.fileName)
            throw JobError.invalid("chunk of \(name) at offset \(c.offset) would take it past the \(maxBytes) bytes task \(LogText.escaped(c.taskID)) may write; the partial file is removed")
        }
        try f.handle.write(contentsOf: c.data)
        f.size += c.data.count
        if c.last {
            open[c.fileName] = nil
            try f.handle.synchronize()
            try f.handle.close()
            guard rename(f.temporary, path) == 0 else { throw PackageError.io(path: path, reason: "rename: \(String(cString: strerror(errno)))") }
            try AtomicFileWriter.syncFolder(of: path)
        } else {
            open[c.fileName] = f
        }
    }

    /// Removes the half-sent files of `task`: its lease ended, so nothing more of them will be accepted.
    package mutating func discard(task: String) {
        for (file, f) in open where f.task == task { discard(file: file) }
    }

    /// Removes every half-sent file: the peer is gone.
    package mutating func discardAll() {
        for file in open.keys { discard(file: file) }
    }

    private mutating func discard(file: String) {
        guard let f = open.removeValue(forKey: file) else { return }
        try? f.handle.close()
        unlink(f.temporary)
    }
}
