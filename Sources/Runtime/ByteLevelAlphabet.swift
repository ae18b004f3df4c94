/// GPT-2's byte-to-character table (bytes_to_unicode): a byte-level BPE vocabulary spells every byte as one
/// printable character, so merges never see whitespace or control bytes. Printable Latin-1 bytes stand for
/// themselves; the other 68 take the characters U+0100 upward, in byte order.
enum ByteLevelAlphabet {
    static let characters: [Character] = {
        let kept = Set<UInt8>(Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF))
        var next: UInt32 = 0x100
        return (0...255).map { (byte: Int) -> Character in
            if kept.contains(UInt8(byte)) { return Character(Unicode.Scalar(UInt8(byte))) }
            defer { next += 1 }
            return Character(Unicode.Scalar(next)!)
        }
    }()

    /// Character -> byte, for decoding; by scalar, since Character equality is canonical equivalence.
    static let bytes: [Unicode.Scalar: UInt8] = Dictionary(uniqueKeysWithValues: characters.enumerated().map { ($1.unicodeScalars.first!, UInt8($0)) })

    /// `text`'s UTF-8 bytes spelled in the alphabet: the form vocabulary entries and merges are written in.
    static func spell(_ text: Substring) -> String {
        var out = String()
        out.reserveCapacity(text.utf8.count * 2)
        for byte in text.utf8 { out.append(characters[Int(byte)]) }
        return out
    }
}
