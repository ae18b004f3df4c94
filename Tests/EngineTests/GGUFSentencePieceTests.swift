import Foundation
import XCTest
import Engine
import TestSupport

/// A checkpoint whose tokenizer is a SentencePiece tokenizer.model (no tokenizer.json), against the vocabulary
/// llama.cpp's own converter makes of the same folder (fixture: scripts/sentencepiece_fixture.py).
final class GGUFSentencePieceTests: XCTestCase {
    static var folder: String { TestPaths.repoRoot + "/Tests/EngineTests/Fixtures/sentencepiece" }

    func testATokenizerModelGivesTheConvertersLlamaVocabulary() throws {
        let config = try JSONValue.parse(Array(Data(contentsOf: URL(fileURLWithPath: Self.folder + "/config.json"))))
        let t = try GGUFTokenizer.forCheckpoint(folder: Self.folder, config: config)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.folder + "/expected.json"))) as! [String: Any]
        XCTAssertEqual(t.model, "llama")
        XCTAssertEqual(t[GGUFTokenizer.Key.pre]?.stringValue, "default")
        // 700 pieces (byte fallback, control and user-defined symbols), three added tokens, one id left as padding.
        XCTAssertEqual(t.tokens, expected["tokens"] as! [String])
        XCTAssertEqual(t.tokenTypes, expected["token_types"] as! [Int])
        let scores = t[GGUFTokenizer.Key.scores]?.arrayValue?.compactMap(\.doubleValue).map(Float.init) ?? []
        XCTAssertEqual(scores, (expected["scores"] as! [Double]).map(Float.init))
        let ids = expected["special_token_ids"] as! [String: Int]
        XCTAssertEqual(t.id(of: .bos), ids["bos"])
        XCTAssertEqual(t.id(of: .eos), ids["eos"])
        XCTAssertNil(t.id(of: .unknown), "no unk_token_id in config.json and no tokenizer.json to resolve the name by")
        let add = expected["add_special_token"] as! [String: Bool]
        XCTAssertEqual(t.addBOS, add["bos"])
        XCTAssertEqual(t[GGUFTokenizer.Key.addEOS]?.boolValue, add["eos"])
        XCTAssertEqual(t.chatTemplate, expected["chat_template"] as? String)
    }

    func testAGarbledTokenizerModelIsRefusedNamingTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/tokenizer.model"))
        // Cut inside the first piece, and bytes that are no protobuf at all.
        for bytes in [model.prefix(5), Data([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x0A])] {
            try bytes.write(to: URL(fileURLWithPath: folder + "/tokenizer.model"))
            XCTAssertThrowsError(try GGUFTokenizer.forCheckpoint(folder: folder, config: .object([]))) {
                XCTAssertTrue("\($0)".contains(folder + "/tokenizer.model"), "\($0)")
            }
        }
    }
}
