import XCTest
import FuzzEntryPoints
import TestSupport

/// The committed fuzz corpus (Tests/FuzzCorpus, seeds and crash reproducers) through the reader targets,
/// without sanitizers: each file must be refused or read, never trap.
final class ReaderFuzzCorpusReplayTests: XCTestCase {
    private func replay(_ target: FuzzTarget) throws {
        let ran = try target.replay(folder: TestPaths.repoRoot + "/Tests/FuzzCorpus/" + target.rawValue)
        XCTAssertGreaterThan(ran, 0, "no corpus for \(target.rawValue)")
    }

    func testSafetensorsCorpus() throws { try replay(.safetensors) }
    func testPackageCorpus() throws { try replay(.package) }
    func testGGUFCorpus() throws { try replay(.gguf) }
    func testSentencePieceCorpus() throws { try replay(.sentencepiece) }
}
