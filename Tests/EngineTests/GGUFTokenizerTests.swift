import XCTest
import Engine
import TestSupport

final class GGUFTokenizerTests: XCTestCase {
    func testTinyLlamaGetsTheByteVocabulary() throws {
        try GGUFTestData.requireModel(TestPaths.tinyLlama)
        let c = try Checkpoint(folder: TestPaths.tinyLlama)
        let t = try GGUFTokenizer.forCheckpoint(folder: TestPaths.tinyLlama, config: c.config)
        XCTAssertEqual(t, GGUFTokenizer.byteLevel())
        XCTAssertEqual(t.model, "gpt2")
        XCTAssertEqual(t.tokens.count, 256)
        XCTAssertEqual(Set(t.tokens).count, 256)
        XCTAssertEqual(t.tokens[0x41], "A")
        XCTAssertEqual(t.tokens[0x20], "\u{0120}")      // GPT-2's "Ġ"
        XCTAssertEqual(t.tokens[0x0A], "\u{010A}")      // "Ċ"
        XCTAssertEqual(t.tokens[0xAD], "\u{0143}")      // soft hyphen, the last moved byte before 0xFF's range
        XCTAssertEqual(t.tokens[0xFF], "\u{00FF}")
        XCTAssertEqual(t.merges, [])
        XCTAssertEqual(t.addBOS, false)
        XCTAssertNil(t.id(of: .bos))
        XCTAssertEqual(t.tokenTypes, Array(repeating: 1, count: 256))
    }

    func testByteTokensAreGPT2sAlphabetInSmolLM2() throws {
        // SmolLM2's byte-level BPE spells its single-byte tokens in the same alphabet; it lacks only bytes its
        // training text never held (control bytes, and bytes UTF-8 never uses), as GPT-2's own table in Python shows.
        try GGUFTestData.requireModel(GGUFTestData.smolLM2)
        let vocabulary = Set(try GGUFTokenizer(gguf: GGUFFile(path: GGUFTestData.smolLM2)).tokens)
        let missing = (0..<256).filter { !vocabulary.contains(String(GGUFTokenizer.gpt2ByteCharacters[$0])) }
        XCTAssertEqual(missing, [4, 6, 19, 20, 22, 29, 192, 193, 241, 242] + Array(245...255))
    }

    func testSmolLM2TokenizerCarriesOverExactly() throws {
        try GGUFTestData.requireModel(GGUFTestData.smolLM2)
        let f = try GGUFFile(path: GGUFTestData.smolLM2)
        let t = try GGUFTokenizer(gguf: f)
        let expected = try GGUFTestData.json("smollm2_header.json") as! [String: Any]
        XCTAssertEqual(t.metadata.map(\.key), f.metadata.map(\.key).filter { $0.hasPrefix("tokenizer.") })
        for (k, v) in t.metadata { XCTAssertEqual(f[k], v, k) }
        XCTAssertEqual(t.model, "gpt2")
        XCTAssertEqual(t.pre, "smollm")
        XCTAssertEqual(t.tokens.count, expected["token_count"] as? Int)
        for (i, s) in expected["tokens_sample"] as! [String: String] { XCTAssertEqual(t.tokens[Int(i)!], s) }
        XCTAssertEqual(t.merges?.count, expected["merge_count"] as? Int)
        XCTAssertEqual(Array(t.merges!.prefix(2)) + [t.merges!.last!], expected["merges_sample"] as? [String])
        for (i, v) in expected["token_type_sample"] as! [String: Int] { XCTAssertEqual(t.tokenTypes[Int(i)!], v) }
        XCTAssertEqual(t.chatTemplate, expected["chat_template"] as? String)
        XCTAssertEqual(t.id(of: .bos), 1)
        XCTAssertEqual(t.id(of: .eos), 2)
        XCTAssertEqual(t.addBOS, false)

        // Stored in a package as JSON and read back: the same values with the same GGUF types.
        let json = try t.jsonBytes()
        XCTAssertEqual(try GGUFTokenizer(jsonBytes: json, file: "tokenizer.json"), t)
    }

    func testJSONKeepsExactTypes() throws {
        let entries: [GGUFTokenizer.Entry] = [
            .init(key: "tokenizer.ggml.model", value: .string("llama")),
            .init(key: "tokenizer.ggml.tokens", value: .strings(["<unk>", "a"])),
            .init(key: "tokenizer.ggml.scores", value: .array(.float32, [.float32(-.infinity), .float32(.nan)])),
            .init(key: "tokenizer.ggml.bos_token_id", value: .uint32(1)),
            .init(key: "tokenizer.x", value: .array(.array, [.array(.int64, [.int64(-5)]), .array(.uint8, [])])),
            .init(key: "tokenizer.y", value: .float64(0.1)),
            .init(key: "tokenizer.ggml.token_type", value: .array(.int32, [.int32(1), .int32(-3)])),
            .init(key: "tokenizer.z", value: .array(.bool, [.bool(true), .bool(false)])),
            .init(key: "tokenizer.w", value: .array(.uint64, [.uint64(.max)])),
        ]
        let t = try GGUFTokenizer(entries: entries, file: "t")
        let back = try GGUFTokenizer(jsonBytes: t.jsonBytes(), file: "t")
        XCTAssertEqual(back.entries.count, entries.count)
        XCTAssertEqual(back["tokenizer.ggml.bos_token_id"], .uint32(1))
        XCTAssertEqual(back["tokenizer.x"], entries[4].value)
        XCTAssertEqual(back["tokenizer.y"], .float64(0.1))
        for e in entries[6...] { XCTAssertEqual(back[e.key], e.value, e.key) }
        // An array holding another type than its element type is not written.
        XCTAssertThrowsError(try JSONEncoder().encode(GGUFValue.array(.string, [.string("a"), .uint32(1)])))
        XCTAssertThrowsError(try JSONEncoder().encode(GGUFValue.array(.int32, [.int64(1)])))
        guard case .array(.float32, let s)? = back["tokenizer.ggml.scores"], case .float32(let nan) = s[1] else { return XCTFail() }
        XCTAssertTrue(nan.isNaN)
    }

    func testBadTokenizersAreRefused() {
        XCTAssertThrowsError(try GGUFTokenizer(entries: [.init(key: "tokenizer.ggml.model", value: .string("gpt2"))], file: "f"))
        XCTAssertThrowsError(try GGUFTokenizer(entries: [
            .init(key: "tokenizer.ggml.model", value: .string("gpt2")), .init(key: "tokenizer.ggml.tokens", value: .strings(["a"])),
            .init(key: "tokenizer.ggml.eos_token_id", value: .uint32(5)),
        ], file: "f")) { e in XCTAssertTrue("\(e)".contains("eos_token_id"), "\(e)") }
        XCTAssertThrowsError(try GGUFTokenizer(jsonBytes: Array("{}".utf8), file: "pkg/tokenizer.json")) { e in
            XCTAssertTrue("\(e)".contains("pkg/tokenizer.json"), "\(e)")
        }
        // Array elements that are not of the array's element type, or out of its range.
        func stored(_ element: String, _ value: String) -> [UInt8] {
            Array((#"{"entries":[{"key":"tokenizer.ggml.model","value":{"type":"string","value":"gpt2"}},"#
                + #"{"key":"tokenizer.ggml.tokens","value":{"type":"array","element":"string","value":["a"]}},"#
                + #"{"key":"tokenizer.x","value":{"type":"array","element":""# + element + #"","value":"# + value + "}}]}").utf8)
        }
        XCTAssertEqual(try GGUFTokenizer(jsonBytes: stored("int8", "[-128, 5]"), file: "t")["tokenizer.x"], .array(.int8, [.int8(-128), .int8(5)]))
        for (element, value) in [("int32", "[\"a\"]"), ("string", "[1]"), ("uint8", "[256]"), ("int8", "[-129]"), ("bool", "[0]")] {
            XCTAssertThrowsError(try GGUFTokenizer(jsonBytes: stored(element, value), file: "pkg/t.json"), "\(element) \(value)") { e in
                XCTAssertTrue("\(e)".contains("pkg/t.json"), "\(e)")
            }
        }
    }

    func testMiniLMWordPieceLikeConvertHFToGGUF() throws {
        try GGUFTestData.requireModel(TestPaths.miniLM)
        let t = try GGUFTokenizer(huggingFaceFolder: TestPaths.miniLM, vocabularySize: 30522)
        XCTAssertEqual(t.model, "bert")
        XCTAssertEqual(t.tokens.count, 30522)
        XCTAssertEqual(t.tokens[0], "[PAD]")
        XCTAssertEqual(t.tokens[101], "[CLS]")
        XCTAssertEqual(t.tokenTypes[101], 3)           // control
        XCTAssertEqual(t.tokenTypes[1000], 1)
        XCTAssertTrue(t.tokens.contains("\u{2581}the"))
        XCTAssertTrue(t.tokens.contains("ing"))       // "##ing"
        XCTAssertEqual(t["tokenizer.ggml.token_type_count"], .uint32(2))
        // Special ids and add flags as gguf.SpecialVocab reads them.
        let expected = try GGUFTestData.json("minilm_special.json") as! [String: [String: Any]]
        let keys: [String: GGUFTokenizer.SpecialToken] = ["bos": .bos, "eos": .eos, "unk": .unknown, "sep": .seperator, "pad": .padding, "mask": .mask]
        for (name, kind) in keys { XCTAssertEqual(t.id(of: kind), expected["ids"]?[name] as? Int, name) }
        for (name, v) in expected["add"]! { XCTAssertEqual(t["tokenizer.ggml.add_\(name)_token"], .bool(v as! Bool), name) }
    }
}
