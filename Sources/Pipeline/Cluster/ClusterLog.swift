import Foundation

/// Lines about the cluster on stderr, one per event, prefixed so they can be told from progress lines.
public struct ClusterLog: Sendable {
    let write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

    public static let standardError = ClusterLog { line in
        FileHandle.standardError.write(Data(("[uqcit] " + line + "\n").utf8))
    }

    package func callAsFunction(_ line: String) { write(line) }
}
