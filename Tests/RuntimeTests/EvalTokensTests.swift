import XCTest
import Foundation
@testable import Runtime

final class EvalTokensTests: XCTestCase {
    func testByteAndTokenIDFilesAndWindows() throws {
        let dir = RuntimeTestPaths.temporaryFolder("eval")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("ab\n".utf8).write(to: URL(fileURLWithPath: dir + "/bytes.txt"))
        XCTAssertEqual(try EvalTokens.load(file: dir + "/bytes.txt", vocabSize: 256), [97, 98, 10])
        try Data(" 1 2\t3\n\n4 31999 ".utf8).write(to: URL(fileURLWithPath: dir + "/ids.txt"))
        XCTAssertEqual(try EvalTokens.load(file: dir + "/ids.txt", vocabSize: 32000), [1, 2, 3, 4, 31999])
        XCTAssertThrowsError(try EvalTokens.load(file: dir + "/ids.txt", vocabSize: 1000), "31999 is outside a 1000-token vocabulary")
        XCTAssertThrowsError(try EvalTokens.load(file: dir + "/bytes.txt", vocabSize: 1000), "text is not token ids")

        let t = Array(0..<11)
        XCTAssertEqual(EvalTokens.windows(t, window: 4), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]])
        XCTAssertEqual(EvalTokens.windows(Array(0..<9), window: 4), [[0, 1, 2, 3], [4, 5, 6, 7]], "a 1-token remainder scores nothing")
        XCTAssertEqual(EvalTokens.windows(t, window: 4, maxWindows: 1), [[0, 1, 2, 3]])
    }
}
