/// Text a peer chose (worker names, reasons, file names), made safe for a log line: control characters and
/// line separators become `\u{..}` escapes, so a peer cannot start a line of its own, and the length is capped.
public enum LogText {
    public static let maxCharacters = 200

    public static func escaped(_ s: String) -> String {
        var out = ""
        var count = 0
        for u in s.unicodeScalars {
            if count == maxCharacters { return out + "...(\(s.unicodeScalars.count - count) more)" }
            let v = u.value
            if v < 0x20 || (v >= 0x7F && v < 0xA0) || v == 0x2028 || v == 0x2029 || v == 0x5C {
                out += v == 0x5C ? "\\\\" : "\\u{\(String(v, radix: 16))}"
            } else {
                out.unicodeScalars.append(u)
            }
            count += 1
        }
        return out
    }
}
