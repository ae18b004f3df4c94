import Foundation
import Engine

/// The design's sections 4.1 and 4.3 as measured on one model: every variant's bits (counted from bytes) and
/// quality, the noise-resistance curve, realised patterns, rotation invariants and level dominance.
public struct AblationReport: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var name: String
        public var group: String          // design, ablation, pattern, baseline, calibrated, auto, level-only
        public var description: String
        public var bitsPerWeight: Double  // over all parameters
        public var quality: Quality
    }
    public struct NoisePoint: Codable, Sendable {
        public var scope: String          // "all" or "level N"
        public var noise: Double          // standard deviation as a fraction of each tensor's RMS
        public var quality: Quality
    }
    public struct PatternCheck: Codable, Sendable {
        public var level: String
        public var patterns: [String]
        public var plannedHighFraction: Double?
        public var realisedHighFraction: Double?
    }
    public struct Invariants: Codable, Sendable {
        public var tensors: Int
        public var maxAbsGGPlusI: Double
        public var maxRowNormRelError: Double
        public var maxTopSingularValueRelError: Double
    }
    public struct LevelDominance: Codable, Sendable {
        public var level: Int
        public var percentOfParameters: Double
        public var qualityLoss: Double
        public var qualityLossPerPercent: Double
    }

    public var model: String
    public var kind: QualityProbe.Kind
    public var qualityMeasure: String
    public var eval: String
    public var reference: Quality
    public var rows: [Row]
    public var noise: [NoisePoint]
    public var patterns: [PatternCheck]
    public var invariants: Invariants?
    public var levelDominance: [LevelDominance]
    public var findings: [String]

    /// The table a person reads.
    public func text() -> String {
        var out: [String] = []
        out.append("Ablation report for \(model) (\(kind.rawValue)); quality = \(qualityMeasure); eval: \(eval)")
        let refPPL = reference.perplexity.map { String(format: ", perplexity %.4f", $0) } ?? ""
        out.append("reference: quality 1\(refPPL)")
        out.append("")
        out.append("variant".padding(toLength: 26, withPad: " ", startingAt: 0) + "group       bpw      quality  perplexity  mean KL    description")
        for r in rows {
            out.append(r.name.padding(toLength: 26, withPad: " ", startingAt: 0) + r.group.padding(toLength: 10, withPad: " ", startingAt: 0)
                       + String(format: "%6.3f  %9.5f  ", r.bitsPerWeight, r.quality.quality)
                       + (r.quality.perplexity.map { String(format: "%10.4f", $0) } ?? "       n/a")
                       + (r.quality.meanKL.map { String(format: "  %8.5f", $0) } ?? "       n/a") + "  " + r.description)
        }
        out.append("")
        out.append("noise resistance (quality; Gaussian noise, std = level x tensor RMS, on the tensors of the scope)")
        let levels = Array(Set(noise.map(\.noise))).sorted()
        out.append("scope     " + levels.map { String(format: "%9.2f", $0) }.joined())
        for scope in noise.map(\.scope).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } } {
            let pts = levels.map { l in noise.first { $0.scope == scope && $0.noise == l }?.quality.quality }
            out.append(scope.padding(toLength: 10, withPad: " ", startingAt: 0) + pts.map { $0.map { String(format: "%9.5f", $0) } ?? "      n/a" }.joined())
        }
        out.append("")
        out.append("patterns planned vs realised (high-precision share of each level's quantized parameters)")
        for p in patterns {
            out.append(String(format: "  level %@: %@  planned %@  realised %@", p.level, p.patterns.joined(separator: ","),
                              p.plannedHighFraction.map { String(format: "%.3f", $0) } ?? "-", p.realisedHighFraction.map { String(format: "%.3f", $0) } ?? "-"))
        }
        if let i = invariants {
            out.append(String(format: "G=i invariants over %d rotated tensors: max|GG+I| %.2e, row norm rel. error %.2e, top singular value rel. error %.2e",
                              i.tensors, i.maxAbsGGPlusI, i.maxRowNormRelError, i.maxTopSingularValueRelError))
        }
        out.append("")
        out.append("level dominance (only that level quantized with the design's pattern, the rest at source precision)")
        for d in levelDominance {
            out.append(String(format: "  level %d: %5.1f%% of parameters, quality loss %.5f, %.5f per %% of parameters", d.level, d.percentOfParameters, d.qualityLoss, d.qualityLossPerPercent))
        }
        out.append("")
        out.append("findings:")
        for f in findings { out.append("  - " + f) }
        return out.joined(separator: "\n") + "\n"
    }
}
