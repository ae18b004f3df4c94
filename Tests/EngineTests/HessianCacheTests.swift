import Foundation
import TestSupport
import XCTest
@testable import Engine

/// A worker's HessianCache: the shards are read and summed once per linear, its factor built once per options,
/// the next tile served from memory; an older entry past the budget is dropped and read again.
final class HessianCacheTests: XCTestCase {
    func shard(_ folder: String, _ name: String, _ h: [Double], n: Int) throws -> TaskOutputFile {
        let bytes = CalibrationFiles.encodeHessian(h, columns: n)
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name))
        return TaskOutputFile(name: name, size: bytes.count, sha256: Digest.sha256Hex(bytes))
    }

    func testServesTheSumAndFactorFromMemoryUntilEvicted() throws {
        let folder = TestPaths.temporaryFolder("hessian-cache")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let n = 4
        let a: [Double] = [4, 1, 0, 0, 1, 3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]
        let input = HessianInput(space: .attentionInput, shards: [try shard(folder, "h0", a, n: n), try shard(folder, "h1", a, n: n)],
                                 damping: 0.01, blockSize: 128, actOrder: false)
        let cache = HessianCache(budgetBytes: 3 * n * n * 8, maxEntries: 4)   // one H and two factors
        XCTAssertEqual(try cache.hessian(input, columns: n, stagingFolder: folder), a.map { 2 * $0 })
        let f = try cache.factor(input, columns: n, stagingFolder: folder, actOrder: false)
        try FileManager.default.removeItem(atPath: folder + "/h0")
        XCTAssertEqual(try cache.hessian(input, columns: n, stagingFolder: folder), a.map { 2 * $0 }, "served from memory")
        XCTAssertEqual(try cache.factor(input, columns: n, stagingFolder: folder, actOrder: false).upper, f.upper)
        XCTAssertEqual(try cache.factor(input, columns: n, stagingFolder: folder, actOrder: true).order, [0, 1, 2, 3])

        let other = HessianInput(space: .mlpInput, shards: [try shard(folder, "h2", a, n: n)], damping: 0.01, blockSize: 128, actOrder: false)
        XCTAssertEqual(try cache.hessian(other, columns: n, stagingFolder: folder), a)
        XCTAssertThrowsError(try cache.hessian(input, columns: n, stagingFolder: folder), "evicted, and its shard is gone") {
            XCTAssertTrue("\($0)".contains("h0"), "\($0)")
        }

        // By count: a second space pushes out the first, whatever their size.
        let byCount = HessianCache(budgetBytes: 1 << 30, maxEntries: 1)
        _ = try byCount.hessian(other, columns: n, stagingFolder: folder)
        let third = HessianInput(space: .mlpOutput, shards: [try shard(folder, "h3", a, n: n)], damping: 0.01, blockSize: 128, actOrder: false)
        _ = try byCount.hessian(third, columns: n, stagingFolder: folder)
        try FileManager.default.removeItem(atPath: folder + "/h3")
        XCTAssertNoThrow(try byCount.hessian(third, columns: n, stagingFolder: folder), "the newest stays")
        try FileManager.default.removeItem(atPath: folder + "/h2")
        XCTAssertThrowsError(try byCount.hessian(other, columns: n, stagingFolder: folder), "the older one went")
    }

    /// A space whose H and factor would not both fit the budget keeps the factor and diag(H) only: H is summed
    /// again from the shards when asked for, and the factor is the one built from the whole H.
    func testAWideSpaceKeepsItsFactorAndDiagonalButNotH() throws {
        let folder = TestPaths.temporaryFolder("hessian-cache-wide")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let n = 4
        let a: [Double] = [4, 1, 0, 0, 1, 3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]
        let input = HessianInput(space: .mlpOutput, shards: [try shard(folder, "h0", a, n: n)], damping: 0.01, blockSize: 128, actOrder: false)
        let reference = try a.withUnsafeBufferPointer { try GPTQHessianFactor(hessian: $0, cols: n, dampingFraction: 0.01, actOrder: true) }
        let cache = HessianCache(budgetBytes: 2 * n * n * 8 - 1, maxEntries: 4)
        XCTAssertEqual(try cache.factor(input, columns: n, stagingFolder: folder, actOrder: true).upper, reference.upper)
        XCTAssertEqual(try cache.hessian(input, columns: n, stagingFolder: folder), a, "summed again from the shard")
        _ = try cache.factor(input, columns: n, stagingFolder: folder, actOrder: true)
        try FileManager.default.removeItem(atPath: folder + "/h0")
        XCTAssertEqual(try cache.diagonal(input, columns: n, stagingFolder: folder), [4, 3, 2, 1])
        XCTAssertEqual(try cache.factor(input, columns: n, stagingFolder: folder, actOrder: true).upper, reference.upper, "served from memory")
        XCTAssertThrowsError(try cache.hessian(input, columns: n, stagingFolder: folder), "H was let go, and its shard is gone") {
            XCTAssertTrue("\($0)".contains("h0"), "\($0)")
        }
    }
}
