import Foundation
import XCTest
import TestSupport
@testable import Engine

/// The package's symmetric int4/int8 codes, turned into pack-quantized words, equal what compressed-tensors'
/// own compressor writes for the same codes (fixture from scripts/compressed_tensors_fixture.py).
final class CompressedTensorsLayoutTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var bits: Int, rows: Int, columns: Int
            var codes: [Int]
            var weight_packed: [Int32]
            var weight_packed_shape: [Int]
        }
        var cases: [Case]
    }

    func testPackedWordsEqualTheLibrarys() throws {
        let path = TestPaths.repoRoot + "/Tests/EngineTests/Fixtures/compressed-tensors/pack_quantized.json"
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(fixture.cases.map(\.bits), [4, 8])
        for c in fixture.cases {
            let format: QuantFormat = c.bits == 4 ? .int4 : .int8
            var bytes: [UInt8] = []
            for r in 0..<c.rows {
                let stored = c.codes[r * c.columns..<(r + 1) * c.columns].map { UInt8(bitPattern: Int8($0)) &+ format.symmetricCodeOffset }
                var packed = [UInt8](repeating: 0, count: format.packedBytes(count: c.columns))
                stored.withUnsafeBufferPointer { s in packed.withUnsafeMutableBufferPointer { format.pack(codes: s, into: $0) } }
                bytes += packed
            }
            CompressedTensorsExporter.packQuantizedWords(fromPackageCodes: &bytes, bits: c.bits)
            let words = stride(from: 0, to: bytes.count, by: 4).map {
                Int32(bitPattern: UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24)
            }
            XCTAssertEqual(c.weight_packed_shape, [c.rows, c.columns * c.bits / 32])
            XCTAssertEqual(words, c.weight_packed, "int\(c.bits)")
        }
    }
}
