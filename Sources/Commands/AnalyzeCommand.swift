import ArgumentParser
import Foundation
import Engine
import Pipeline

/// Layer analysis from headers alone: per tensor, shape, role, level, pattern and planned bits.
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "analyze", abstract: "Classify a checkpoint's tensors into levels 1-5 (headers only).")

    @Argument(help: "Hugging Face checkpoint folder.") var model: String
    @Option(help: "Profile name or YAML path.") var profile: String = "uqcit"
    @Flag(help: "JSON on stdout.") var json = false

    struct Row: Codable {
        var name: String; var folder: String; var shape: [Int]; var dtype: String; var role: String; var level: Int
        var pattern: String?; var highFormat: String?; var lowFormat: String?; var plannedBitsPerWeight: Double
    }

    func run() throws {
        try withCleanExit {
            let ckpt = try Checkpoint(folder: model)
            let prof = try ProfileLoader.load(profile)
            let plan = try JobPlan(checkpoint: ckpt, profile: prof)
            let rows = plan.assignments.map { a -> Row in
                Row(name: a.name, folder: a.folder, shape: a.tensor.entry.shape, dtype: a.tensor.entry.dtype.rawValue, role: a.role,
                    level: a.level, pattern: a.policy?.pattern, highFormat: a.policy?.high.rawValue, lowFormat: a.policy?.low.rawValue,
                    plannedBitsPerWeight: PlannedBits.perWeight(a))
            }
            if json {
                print(String(decoding: try PackageJSON.encode(rows), as: UTF8.self), terminator: "")
                return
            }
            var folder = ""
            let order = plan.folders
            for r in rows.sorted(by: { order.firstIndex(of: $0.folder)! < order.firstIndex(of: $1.folder)! }) {
                if r.folder != folder { folder = r.folder; print(folder) }
                print("  " + r.name.padded(50) + r.shape.map(String.init).joined(separator: "x").padded(12) + r.role.padded(18)
                      + "L\(r.level)  " + (r.pattern ?? "source").padded(7) + (r.highFormat.map { "\($0)/\(r.lowFormat!)" } ?? r.dtype).padded(11)
                      + String(format: "%6.2f bpw", r.plannedBitsPerWeight))
            }
        }
    }
}

/// Bits per weight a plan implies before anything is measured: codes plus 16-bit scales (and mins) per group.
enum PlannedBits {
    static func perWeight(_ a: TensorAssignment) -> Double {
        guard let p = a.policy else { return Double(a.tensor.entry.dtype.byteSize * 8) }
        func part(_ f: QuantFormat, _ g: Int?, symmetric: Bool) -> Double {
            if f == .fp16 { return 16 }
            let group = Double(g ?? f.defaultGroupSize)
            return Double(f.bits) + (symmetric ? 16 : 32) / group
        }
        let hi = part(p.high, p.highGroupSize, symmetric: p.high.isSymmetric)
        let lo = part(p.low, p.lowGroupSize, symmetric: p.symmetricLow ?? p.low.isSymmetric)
        let e = a.tensor.entry
        let comp = Double(p.compensationRank * (e.rows + e.columns) * 16) / Double(max(e.elementCount, 1))
        return p.highFraction * hi + (1 - p.highFraction) * lo + comp
    }
}
