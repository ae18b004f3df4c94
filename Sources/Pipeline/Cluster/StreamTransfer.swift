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
/// last piece. Pieces of one file must arrive in order from offset 0.
package struct StreamInbox {
    package let root: String
    private var open: [String: (handle: FileHandle, size: Int, temporary: String)] = [:]

    package init(root: String) { self.root = root }

    /// Names a peer may write: relative, no `..`, no hidden components.
    package static func isSafe(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("/") && name.split(separator: "/").allSatisfy { !$0.hasPrefix(".") && !$0.isEmpty }
    }

    /// Stores one piece; throws with a reason when the piece is out of order or names a bad path.
    package mutating func receive(_ c: Uqcit_V2_Chunk) throws {
        guard Self.isSafe(c.fileName) else { throw JobError.invalid("chunk names an unsafe path '\(c.fileName)'") }
        let path = root + "/" + c.fileName
        if c.offset == 0 {
            if let stale = open.removeValue(forKey: c.fileName) { try? stale.handle.close(); unlink(stale.temporary) }
            let temporary = AtomicFileWriter.temporaryName(for: path)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: temporary, contents: nil), let h = FileHandle(forWritingAtPath: temporary) else {
                throw PackageError.io(path: temporary, reason: "cannot create")
            }
            open[c.fileName] = (h, 0, temporary)
        }
        guard var f = open[c.fileName], f.size == Int(c.offset) else {
            throw JobError.invalid("chunk of \(c.fileName) at offset \(c.offset) arrived out of order")
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
}
