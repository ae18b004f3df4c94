import Foundation
import XCTest
import TestSupport
import COpenBLAS
@testable import Engine
@testable import Coordinator
@testable import Pipeline

/// Real coordinator and worker processes for the tests: the executables built next to this test bundle,
/// tiny-llama from ../shared/models, output in fresh temporary folders.
enum Cluster {
    static let repoRoot = TestPaths.repoRoot
    static let tinyLlama = TestPaths.tinyLlama

    /// The folder holding the test bundle, where SwiftPM also puts the `coordinator` and `worker` executables.
    static let productsFolder: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the test binary is <products>/<name>.xctest; elsewhere it sits inside the bundle.
        while !FileManager.default.isExecutableFile(atPath: dir.path + "/coordinator") && dir.path != "/" { dir.deleteLastPathComponent() }
        return dir.path
    }()

    static func temporaryFolder(_ tag: String) -> String { TestPaths.temporaryFolder("cluster-" + tag) }

    /// The package of the embedded single-worker run, made once per test process; relative path -> bytes.
    nonisolated(unsafe) private static var referenceFiles: [String: Data]?
    static func reference() throws -> [String: Data] {
        if let r = referenceFiles { return r }
        let out = temporaryFolder("reference")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let profile = try ProfileLoader.load(repoRoot + "/cluster-config/profiles/uqcit.yaml")
        // As the coordinator and worker commands do: one OpenBLAS thread per worker.
        openblas_set_num_threads(1)
        _ = try CompressionJob.run(JobOptions(model: tinyLlama, out: out, profile: profile, workers: 1, progress: false), log: ClusterLog { _ in })
        referenceFiles = try packageFiles(out)
        return referenceFiles!
    }

    static func packageFiles(_ root: String) throws -> [String: Data] { try TestPaths.packageFiles(root) }

    static func assertIdenticalToReference(_ package: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try reference(), got = try packageFiles(package)
        XCTAssertEqual(Set(got.keys), Set(expected.keys), file: file, line: line)
        XCTAssertGreaterThan(expected.count, 20, file: file, line: line)
        for (name, bytes) in expected where got[name] != bytes {
            XCTFail("\(name) differs from the embedded single-worker run", file: file, line: line)
        }
    }

    static func journal(_ out: String) -> [JournalRecord] {
        (try? Journal.read(path: OutputFolder(path: out).journalFile).records) ?? []
    }

    /// Polls `condition` every 20 ms until it holds or `seconds` pass.
    static func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return try condition()
    }
}

/// A child process whose stderr and stdout go to files, so tests can read them while it runs.
final class Child {
    let process = Process()
    let stderrPath: String
    let stdoutPath: String

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let base = Cluster.temporaryFolder("log")
        stderrPath = base + ".err"; stdoutPath = base + ".out"
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Cluster.productsFolder + "/" + executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: stderrPath)
        try? FileManager.default.removeItem(atPath: stdoutPath)
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    /// The first tcp:// endpoint the coordinator says it listens on.
    func listeningEndpoint(within seconds: Double = 20) throws -> String {
        var found: String?
        _ = Cluster.eventually(within: seconds) {
            guard let line = stderr.split(separator: "\n").first(where: { $0.contains("coordinator listening on tcp://") }) else { return false }
            found = line.split(separator: " ").first { $0.hasPrefix("tcp://") }.map(String.init)
            return true
        }
        return try XCTUnwrap(found, "coordinator never said where it listens; stderr:\n\(stderr)")
    }

    /// Waits for the exit and returns its status; kills the process and fails after `seconds`.
    @discardableResult
    func exitStatus(within seconds: Double, file: StaticString = #filePath, line: UInt = #line) -> Int32 {
        if !Cluster.eventually(within: seconds, { !process.isRunning }) {
            XCTFail("\(process.executableURL!.lastPathComponent) still running after \(seconds) s; stderr:\n\(stderr)", file: file, line: line)
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
