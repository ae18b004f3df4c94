import CZMQ
import Foundation
#if canImport(Glibc)
import Glibc
private let writeBytes = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let writeBytes = Darwin.write
#endif

/// Why a CURVE key or key file cannot be used.
public enum CurveKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidKey(String)
    case unreadableFile(path: String, reason: String)
    case unwritableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidKey(let reason): return "invalid CURVE key: \(reason)"
        case .unreadableFile(let path, let reason): return "cannot read key file \(path): \(reason)"
        case .unwritableFile(let path, let reason): return "cannot write key file \(path): \(reason)"
        }
    }
}

/// A long-term CurveZMQ key pair as Z85 text (40 characters per key).
///
/// Key files are plain text, one `name = value` line per key; lines starting with `#` are comments (Z85 itself
/// uses `#` and `=`, so values run to the end of the line). The public file holds
/// `public-key`; the secret file holds both keys and is written with mode 0600.
public struct CurveKeyPair: Sendable, Equatable {
    public static let z85Length = 40

    public let publicKey: String
    public let secretKey: String

    /// Checks that both keys are Z85 and that the public key belongs to the secret key.
    public init(publicKey: String, secretKey: String) throws {
        try Self.validate(publicKey, name: "public key")
        try Self.validate(secretKey, name: "secret key")
        guard try Self.derivePublicKey(fromSecretKey: secretKey) == publicKey else {
            throw CurveKeyError.invalidKey("the public key does not belong to the secret key")
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    public static func generate() throws -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: z85Length + 1)
        var secretKey = [CChar](repeating: 0, count: z85Length + 1)
        if zmq_curve_keypair(&publicKey, &secretKey) != 0 {
            throw ZMQError.last("generate CURVE key pair")
        }
        return try CurveKeyPair(publicKey: string(publicKey), secretKey: string(secretKey))
    }

    /// Reads a pair written by `write(publicKeyFile:secretKeyFile:)`.
    public init(publicKeyFile: String, secretKeyFile: String) throws {
        let publicKey = try Self.readPublicKey(file: publicKeyFile)
        let secretFields = try Self.readFields(file: secretKeyFile)
        guard let secretKey = secretFields["secret-key"] else {
            throw CurveKeyError.unreadableFile(path: secretKeyFile, reason: "no `secret-key = ...` line")
        }
        try self.init(publicKey: publicKey, secretKey: secretKey)
    }

    /// Reads the `public-key` of a public key file, e.g. a worker's for the coordinator's allow-list.
    public static func readPublicKey(file: String) throws -> String {
        guard let key = try readFields(file: file)["public-key"] else {
            throw CurveKeyError.unreadableFile(path: file, reason: "no `public-key = ...` line")
        }
        try validate(key, name: "public key in \(file)")
        return key
    }

    /// Writes both files, replacing existing ones; the secret file is readable by its owner only.
    public func write(publicKeyFile: String, secretKeyFile: String) throws {
        let header = "# CurveZMQ key pair for \(WireProtocol.name), Z85 encoded.\n"
        try Self.writeFile(header + "public-key = \(publicKey)\n", to: publicKeyFile, mode: 0o644)
        try Self.writeFile(
            header + "# Keep this file secret.\npublic-key = \(publicKey)\nsecret-key = \(secretKey)\n",
            to: secretKeyFile, mode: 0o600)
    }

    private static func validate(_ key: String, name: String) throws {
        guard key.utf8.count == z85Length else {
            throw CurveKeyError.invalidKey("\(name) has \(key.utf8.count) characters, expected \(z85Length)")
        }
        var decoded = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&decoded, key) != nil else {
            throw CurveKeyError.invalidKey("\(name) is not Z85 text")
        }
    }

    private static func derivePublicKey(fromSecretKey secretKey: String) throws -> String {
        var publicKey = [CChar](repeating: 0, count: z85Length + 1)
        if zmq_curve_public(&publicKey, secretKey) != 0 { throw ZMQError.last("derive CURVE public key") }
        return string(publicKey)
    }

    private static func string(_ cString: [CChar]) -> String {
        String(decoding: cString.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func readFields(file: String) throws -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw CurveKeyError.unreadableFile(path: file, reason: error.localizedDescription)
        }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.drop(while: \.isWhitespace)
            guard !content.hasPrefix("#"), let equals = content.firstIndex(of: "=") else { continue }
            let name = content[..<equals].trimmingCharacters(in: .whitespaces)
            fields[name] = content[content.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// Writes through a temporary file created with `mode`, so the key is never readable with looser permissions
    /// and a crash never leaves a half-written key file.
    private static func writeFile(_ text: String, to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            throw CurveKeyError.unwritableFile(path: path, reason: String(cString: strerror(errno)))
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { writeBytes(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CurveKeyError.unwritableFile(path: path, reason: reason)
        }
    }
}
