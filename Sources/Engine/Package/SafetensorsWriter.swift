import Foundation

/// Writes safetensors containers. The header is built deterministically (entries in the given order, keys in
/// a fixed order, padded with spaces to 8 bytes as the reference writer does), so the same arrays always give
/// the same bytes.
public enum SafetensorsWriter {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var byteCount: Int
        public init(name: String, dtype: DType, shape: [Int], byteCount: Int) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.byteCount = byteCount
        }
    }

    public static func header(entries: [Entry], metadata: [String: String]) -> [UInt8] {
        var s = "{"
        var first = true
        if !metadata.isEmpty {
            s += "\"__metadata__\":{" + metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",") + "}"
            first = false
        }
        var offset = 0
        for e in entries {
            if !first { s += "," }
            first = false
            s += "\(jsonString(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + e.byteCount)]}"
            offset += e.byteCount
        }
        s += "}"
        var h = Array(s.utf8)
        while (8 + h.count) % 8 != 0 { h.append(0x20) }
        var out = [UInt8](repeating: 0, count: 8)
        let n = UInt64(h.count)
        for k in 0..<8 { out[k] = UInt8((n >> (8 * UInt64(k))) & 0xFF) }
        return out + h
    }

    /// A whole container in memory (tiles, small files).
    public static func encode(_ arrays: [NamedArray], metadata: [String: String] = [:]) -> [UInt8] {
        var out = header(entries: arrays.map { Entry(name: $0.name, dtype: $0.dtype, shape: $0.shape, byteCount: $0.bytes.count) }, metadata: metadata)
        for a in arrays { out += a.bytes }
        return out
    }

    /// Reads every array of a small container into memory.
    public static func decode(_ f: SafetensorsFile) throws -> [String: NamedArray] {
        var out: [String: NamedArray] = [:]
        for t in f.tensors { out[t.name] = NamedArray(name: t.name, dtype: t.dtype, shape: t.shape, bytes: try f.rawBytes(t)) }
        return out
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
