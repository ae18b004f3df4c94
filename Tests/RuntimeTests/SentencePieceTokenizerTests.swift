import Foundation
import XCTest
import Engine
import Runtime
import TestSupport

/// The runtime's SentencePiece tokenizer (calibration and eval text of a model whose vocabulary is llama.cpp's
/// "llama") against the sentencepiece package's own ids, which llama.cpp's llama-tokenize also gives
/// (scripts/check_sentencepiece_gguf.py). Fixture: scripts/sentencepiece_fixture.py.
final class SentencePieceTokenizerTests: XCTestCase {
    static var folder: String { TestPaths.repoRoot + "/Tests/EngineTests/Fixtures/sentencepiece" }

    func tokenizer() throws -> SentencePieceTokenizer {
        try SentencePieceTokenizer(gguf: GGUFTokenizer(sentencePieceFolder: Self.folder, vocabularySize: 704))
    }

    func testLinesTokenizeAsSentencePieceDoes() throws {
        let t = try tokenizer()
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.folder + "/encoded.json"))) as! [String: Any]
        let lines = fixture["lines"] as! [String], ids = fixture["ids"] as! [[Int]]
        // 100 lines of English, and two of characters no piece covers (byte fallback) and runs of spaces.
        XCTAssertEqual(lines.count, 102)
        for (line, expected) in zip(lines, ids) { XCTAssertEqual(t.encode(line), expected, line) }
    }

    /// A user-defined token is cut out of the text before the pieces merge, and the text after it starts with
    /// the leading space again, as in llama.cpp.
    func testUserDefinedTokensAreSplitOutFirst() throws {
        let t = try tokenizer()
        let userDefined = 4   // " my tool" (tokenizer_config.json's added_tokens_decoder)
        XCTAssertEqual(t.encode("x my tool y"), t.encode("x") + [userDefined] + t.encode(" y"))
        XCTAssertEqual(t.encode(""), [])
    }

    func testAVocabularyThatIsNotSentencePieceIsRefused() throws {
        XCTAssertThrowsError(try SentencePieceTokenizer(gguf: GGUFTokenizer.byteLevel()))
    }

    /// A checkpoint folder with only a tokenizer.model gets this tokenizer for its calibration text.
    func testACheckpointWithATokenizerModelFindsIt() throws {
        guard case .sentencePiece? = try ModelTokenizer.find(vocabSize: 704, folder: Self.folder) else {
            return XCTFail("no SentencePiece tokenizer found for a folder with tokenizer.model")
        }
    }
}
