import Engine
import Foundation
import TestSupport
import XCTest
@testable import Runtime

/// The byte-level BPE tokenizer against the `tokenizers` package (scripts/bpe_fixture.py): SmolLM2's vocabulary
/// read from its GGUF, and a small tokenizer.json with a Llama-3 split and a user-defined added token.
final class BPETokenizerTests: XCTestCase {
    static let ggufPath = TestPaths.sharedModels + "/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let evalPath = TestPaths.sharedModels + "/smollm2-135m/eval.txt"

    func fixture() throws -> [String: Any] {
        let url = URL(fileURLWithPath: TestPaths.repoRoot + "/Tests/RuntimeTests/Fixtures/bpe_smollm2.json")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func smolLM2() throws -> BPETokenizer {
        try BPETokenizer(gguf: GGUFTokenizer(gguf: GGUFFile(path: Self.ggufPath)))
    }

    func assertMatches(_ tokenizer: BPETokenizer, _ cases: [[String: Any]], file: StaticString = #filePath, line: UInt = #line) throws {
        var agreeing = 0, total = 0
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String)
            let expected = try XCTUnwrap(c["ids"] as? [Int])
            let ids = tokenizer.encode(text)
            total += expected.count
            agreeing += zip(ids, expected).prefix { $0 == $1 }.count
            if ids != expected {
                let at = zip(ids, expected).prefix { $0 == $1 }.count
                XCTFail("\(text.prefix(60).debugDescription): ids differ from token \(at): \(ids[at...].prefix(8)) vs \(expected[at...].prefix(8))",
                        file: file, line: line)
            }
            // Bytes the vocabulary cannot spell are dropped, so only the other texts come back whole.
            if !text.unicodeScalars.contains(where: { $0.value == 4 || $0.value == 6 }) {
                XCTAssertEqual(tokenizer.decode(ids), text, file: file, line: line)
            }
        }
        print("BPE agreement: \(agreeing)/\(total) tokens over \(cases.count) texts")
    }

    func testSmolLM2FromGGUFMatchesTokenizers() throws {
        try assertMatches(smolLM2(), XCTUnwrap(fixture()["smollm2"] as? [[String: Any]]))
    }

    func testTokenizerJSONMatchesTokenizers() throws {
        let toy = try XCTUnwrap(fixture()["toy"] as? [String: Any])
        let json = try JSONSerialization.data(withJSONObject: XCTUnwrap(toy["tokenizer_json"]))
        let tokenizer = try BPETokenizer(huggingFaceJSON: Array(json), file: "toy tokenizer.json")
        XCTAssertTrue(tokenizer.preTokenizer.patterns.first == BPEPreTokenizer.llama3)
        try assertMatches(tokenizer, XCTUnwrap(toy["cases"] as? [[String: Any]]))
    }

    func testUnsupportedTokenizerJSONIsRefusedByName() throws {
        let wordPiece = Array(#"{"model": {"type": "WordPiece", "vocab": {}}}"#.utf8)
        XCTAssertThrowsError(try BPETokenizer(huggingFaceJSON: wordPiece, file: "wp.json")) { error in
            XCTAssertTrue("\(error)".contains("BPE"), "\(error)")
        }
        let missingBytes = Array(#"{"model": {"type": "BPE", "vocab": {"ab": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}"#.utf8)
        XCTAssertThrowsError(try BPETokenizer(huggingFaceJSON: missingBytes, file: "small.json")) { error in
            XCTAssertTrue("\(error)".contains("byte alphabet"), "\(error)")
        }
    }

    /// Llama 3's ignore_merges: a word the vocabulary has whole is one token even where the merges would not build it.
    func testIgnoreMergesTakesWholeWords() throws {
        let tokens = ByteLevelAlphabet.characters.map(String.init) + ["xy", "xyz"]
        let x = try XCTUnwrap(tokens.firstIndex(of: "x")), z = try XCTUnwrap(tokens.firstIndex(of: "z"))
        let splitter = try BPEPreTokenizer(patterns: [BPEPreTokenizer.gpt2])
        for ignoresMerges in [false, true] {
            let t = try BPETokenizer(tokens: tokens, merges: [("x", "y")], addedTokens: [:], preTokenizer: splitter, ignoresMerges: ignoresMerges)
            XCTAssertEqual(t.encode("xyz"), ignoresMerges ? [257] : [256, z])
            XCTAssertEqual(t.encode("xxy"), [x, 256])
        }
        XCTAssertThrowsError(try BPEPreTokenizer.llamaCpp(pre: "default"))
        XCTAssertTrue(try BPEPreTokenizer.llamaCpp(pre: "llama-bpe").ignoresMerges)
    }

    /// `uqcit validate --reference FILE.gguf` reads eval.txt beside the file through the GGUF's own tokenizer:
    /// its first 20,000 bytes come out as the `tokenizers` package's ids (the fixture's last case).
    func testGGUFReferenceReadsEvalTextWithItsTokenizer() throws {
        let reference = try ReferenceModel(path: Self.ggufPath)
        XCTAssertEqual(URL(fileURLWithPath: reference.defaultEval).standardized.path, URL(fileURLWithPath: Self.evalPath).standardized.path)
        let cases = try XCTUnwrap(fixture()["smollm2"] as? [[String: Any]])
        let head = try XCTUnwrap(cases.last)
        let expected = try XCTUnwrap(head["ids"] as? [Int])
        XCTAssertTrue(try String(contentsOfFile: Self.evalPath, encoding: .utf8).hasPrefix(XCTUnwrap(head["text"] as? String)))
        let tokens = try EvalTokens.load(file: reference.defaultEval, vocabSize: 49152, tokenizer: reference.tokenizer())
        // The cut at byte 20,000 may split the last word, so all but the fixture's last id must agree.
        XCTAssertEqual(Array(tokens.prefix(expected.count - 1)), Array(expected.dropLast()))
        XCTAssertGreaterThan(tokens.count, 30000)
        XCTAssertEqual(reference.weights.shape(of: "model.embed_tokens.weight"), [49152, 576])
    }

    /// One megabyte (eval.txt repeated) in a few seconds: words are merged once per call.
    func testMegabyteSpeed() throws {
        let tokenizer = try smolLM2()
        let eval = try String(contentsOfFile: Self.evalPath, encoding: .utf8)
        let text = String(repeating: eval, count: (1 << 20) / eval.utf8.count + 1)
        let start = Date()
        let ids = tokenizer.encode(text)
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "BPE speed: %d bytes -> %d tokens in %.2f s (%.2f MB/s)", text.utf8.count, ids.count, seconds,
                     Double(text.utf8.count) / seconds / 1e6))
        XCTAssertLessThan(seconds, 10)
        XCTAssertEqual(tokenizer.decode(ids), text)
    }
}
