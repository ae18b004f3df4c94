import ArgumentParser
import Foundation
import Pipeline
import UQCITProtocol

/// CURVE key files as `coordinator keys generate` writes them: NAME.key (public) and NAME.key_secret (both keys).
enum KeyFiles {
    static let publicSuffix = ".key"
    static let secretSuffix = ".key_secret"

    static func pair(secretKeyFile: String) throws -> CurveKeyPair {
        guard secretKeyFile.hasSuffix(secretSuffix) else {
            throw ValidationError("\(secretKeyFile): expected a secret key file (NAME\(secretSuffix)) written by `coordinator keys generate`")
        }
        return try CurveKeyPair(publicKeyFile: String(secretKeyFile.dropLast(secretSuffix.count)) + publicSuffix, secretKeyFile: secretKeyFile)
    }

    static func serverSettings(secretKeyFile: String, allowed: [String]) throws -> CurveServerSettings {
        var keys = Set<String>()
        for path in allowed {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw ValidationError("no such key file or folder: \(path)") }
            let files = isDir.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(publicSuffix) }.sorted().map { path + "/" + $0 }
                : [path]
            for f in files { keys.insert(try CurveKeyPair.readPublicKey(file: f)) }
        }
        guard !keys.isEmpty else { throw ValidationError("CURVE needs at least one allowed worker key (--allow FILE or folder of *\(publicSuffix))") }
        return CurveServerSettings(keys: try pair(secretKeyFile: secretKeyFile), allowedWorkerKeys: keys)
    }
}

/// `coordinator keys generate`: CURVE key pairs for the coordinator and for each worker.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Manage CurveZMQ keys.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Write NAME.key (public, give it to the other side) and NAME.key_secret (mode 0600, keep it).")

        @Option(help: "Folder for the key files.") var dir: String = "keys"
        @Option(help: "Base name, e.g. coordinator or worker-07.") var name: String = "coordinator"

        func run() throws {
            try withCleanExit {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let keys = try CurveKeyPair.generate()
                let base = dir + "/" + name
                try keys.write(publicKeyFile: base + KeyFiles.publicSuffix, secretKeyFile: base + KeyFiles.secretSuffix)
                print("wrote \(base)\(KeyFiles.publicSuffix) (public: \(keys.publicKey)) and \(base)\(KeyFiles.secretSuffix) (secret)")
            }
        }
    }
}
