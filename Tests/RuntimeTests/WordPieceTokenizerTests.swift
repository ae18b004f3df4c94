import XCTest
@testable import Runtime

final class WordPieceTokenizerTests: XCTestCase {
    /// A tiny vocabulary, so the rules are visible independently of any model.
    func tinyTokenizer() throws -> WordPieceTokenizer {
        let words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", ",", "!", "'", "-", ".", "un", "##aff", "##able",
                     "cafe", "naive", "resume", "don", "t", "中", "文", "abc", "run", "##ning", "##s"]
        var v: [String: Int] = [:]
        for (i, w) in words.enumerated() { v[w] = i }
        return try WordPieceTokenizer(vocab: v)
    }

    func testPunctuationIsSplitIntoSeparateTokens() throws {
        let t = try tinyTokenizer()
        XCTAssertEqual(t.tokenize("Hello, world!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(t.tokenize("don't"), ["don", "'", "t"])
        XCTAssertEqual(t.tokenize("hello...world"), ["hello", ".", ".", ".", "world"])
        XCTAssertEqual(t.basicTokens("a-b"), ["a", "-", "b"])
    }

    func testLowercaseAndAccentStripping() throws {
        let t = try tinyTokenizer()
        XCTAssertEqual(t.tokenize("Café NAÏVE RÉSUMÉ"), ["cafe", "naive", "resume"])
        // Precomposed and decomposed forms give the same tokens.
        XCTAssertEqual(t.tokenize("Cafe\u{301}"), ["cafe"])
    }

    func testSubwordsAndUnknownWords() throws {
        let t = try tinyTokenizer()
        XCTAssertEqual(t.tokenize("unaffable"), ["un", "##aff", "##able"])
        XCTAssertEqual(t.tokenize("running runs"), ["run", "##ning", "run", "##s"])
        // A word WordPiece cannot cover entirely becomes one [UNK], not a partial match.
        XCTAssertEqual(t.tokenize("unaffablex hello"), ["[UNK]", "hello"])
        XCTAssertEqual(t.tokenize("🤖"), ["[UNK]"])
        XCTAssertEqual(t.tokenize(String(repeating: "a", count: 101)), ["[UNK]"])
    }

    func testCJKControlAndWhitespace() throws {
        let t = try tinyTokenizer()
        XCTAssertEqual(t.tokenize("中文abc"), ["中", "文", "abc"])
        XCTAssertEqual(t.basicTokens("hello\u{0}\u{200B}world"), ["helloworld"], "controls and format characters are removed, not split on")
        XCTAssertEqual(t.tokenize(" hello\tworld\nhello\u{00A0}world "), ["hello", "world", "hello", "world"])
    }

    func testEncodeAddsSpecialTokensAndTruncates() throws {
        let t = try tinyTokenizer()
        XCTAssertEqual(t.encode("hello world"), [2, 4, 5, 3])
        let long = t.encode(Array(repeating: "hello", count: 600).joined(separator: " "))
        XCTAssertEqual(long.count, 512)
        XCTAssertEqual(long.first, 2)
        XCTAssertEqual(long.last, 3)
    }

    /// The model's real vocabulary against the ids of the independent Python tokenizer (which matched
    /// Hugging Face `tokenizers` on tokenizer.json when the fixture was written).
    func testMiniLMVocabularyMatchesTheReferenceTokenizer() throws {
        try RuntimeTestPaths.requireModel(RuntimeTestPaths.miniLM)
        let t = try WordPieceTokenizer.load(folder: RuntimeTestPaths.miniLM)
        let f = try MiniLMFixture.load()
        for c in f.tokenizer_cases {
            XCTAssertEqual(t.tokenize(c.text), c.tokens, c.text)
            XCTAssertEqual(t.encode(c.text), c.ids, c.text)
        }
        for s in f.sentences { XCTAssertEqual(t.encode(s.text), s.ids, s.text) }
    }
}
