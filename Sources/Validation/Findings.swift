import Foundation

/// Plain sentences derived from the measured report: whether each component helped, and how the design's
/// claims fare. Nothing here is asserted beforehand; every sentence reads the numbers.
enum Findings {
    static func derive(_ r: AblationReport) -> [String] {
        var out: [String] = []
        guard let full = r.rows.first(where: { $0.name == "uqcit" }) else { return out }
        func row(_ n: String) -> AblationReport.Row? { r.rows.first { $0.name == n } }
        let components = [("no-concentration", "binary concentration (importance-chosen high share)"), ("no-rotation", "the G=i rotation"),
                          ("no-level3-preservation", "level-3 preservation (10-90)"), ("no-compensation", "runtime compensation (low rank)"),
                          ("no-clusters", "GHZ cluster promotion")]
        for (name, what) in components {
            guard let a = row(name) else { continue }
            let verdict = words(compare(full.quality, a.quality), better: "helps", worse: "hurts", same: "makes no measurable difference")
            out.append(String(format: "%@ %@: quality %.5f with it, %.5f without (%.3f vs %.3f bpw; 2 standard errors of the difference: %.5f).",
                              what, verdict, full.quality.quality, a.quality.quality, full.bitsPerWeight, a.bitsPerWeight, 2 * seDiff(full.quality, a.quality)))
        }
        for name in ["uniform-int4", "rtn-int4-g128-all", "rtn-int4-g128-blocks"] {
            guard let u = row(name) else { continue }
            let verdict = words(compare(full.quality, u.quality))
            out.append(String(format: "The design's profile (%.3f bpw, quality %.5f) is %@ %@ (%.3f bpw, quality %.5f).",
                              full.bitsPerWeight, full.quality.quality, verdict, name, u.bitsPerWeight, u.quality.quality))
        }
        for auto in r.rows where auto.group == "auto" {
            // The RTN baseline at the same or more bits.
            let rivals = r.rows.filter { $0.group == "baseline" && $0.name.hasPrefix("rtn") && $0.bitsPerWeight >= auto.bitsPerWeight }
            if let best = rivals.min(by: { $0.bitsPerWeight < $1.bitsPerWeight }) {
                let verdict = words(compare(auto.quality, best.quality))
                out.append(String(format: "%@ (%.3f bpw, quality %.5f, perplexity %@) is %@ %@ (%.3f bpw, quality %.5f, perplexity %@).", auto.name, auto.bitsPerWeight,
                                  auto.quality.quality, ppl(auto.quality), verdict, best.name, best.bitsPerWeight, best.quality.quality, ppl(best.quality)))
            }
        }
        // Calibrated against data-free at each width, and GPTQ against diag(H) weighting.
        for width in ["int4", "int3", "int2", "gguf-q3_k_m", "gguf-q2_k"] {
            let names = width.hasPrefix("gguf") ? (width, width + "-importance", width + "-gptq") : ("data-free-" + width, "importance-" + width, "gptq-" + width)
            guard let free = row(names.0), let importance = row(names.1), let gptq = row(names.2) else { continue }
            out.append(String(format: "At %@ (%.3f bpw) GPTQ is %@ data-free rounding and %@ diag(H) weighting: quality %.5f / %.5f / %.5f, perplexity %@ / %@ / %@ (GPTQ / data-free / importance).",
                              width, gptq.bitsPerWeight, words(compare(gptq.quality, free.quality)), words(compare(gptq.quality, importance.quality)),
                              gptq.quality.quality, free.quality.quality, importance.quality.quality, ppl(gptq.quality), ppl(free.quality), ppl(importance.quality)))
        }
        // The design claims level 3 resists noise better than the other levels.
        let probe = 0.25
        let drops = r.noise.filter { $0.scope.hasPrefix("level") && $0.noise == probe }.map { ($0.scope, 1 - $0.quality.quality) }
        if let l3 = drops.first(where: { $0.0 == "level 3" }), drops.count > 1 {
            let others = drops.filter { $0.0 != "level 3" }
            let share = Dictionary(uniqueKeysWithValues: r.levelDominance.map { ("level \($0.level)", $0.percentOfParameters) })
            let perShare = { (d: (String, Double)) in d.1 / max(share[d.0] ?? 1, 1e-9) }
            let resistsRaw = others.allSatisfy { $0.1 >= l3.1 }
            let resistsNormalised = others.allSatisfy { perShare($0) >= perShare(l3) }
            out.append(String(format: "Noise %.2f x RMS on level 3 alone costs %.5f quality (%.5f per %% of parameters); on the other levels %@. Level 3 %@ resist noise better%@.",
                              probe, l3.1, perShare(l3), others.map { String(format: "%@ %.5f (%.5f per %%)", $0.0, $0.1, perShare($0)) }.joined(separator: ", "),
                              resistsRaw && resistsNormalised ? "does" : "does not",
                              resistsRaw != resistsNormalised ? " by one measure (raw loss or loss per parameter) and not the other" : ""))
        }
        return out
    }

    enum Comparison { case better, worse, indistinguishable }

    static func words(_ c: Comparison, better: String = "better than", worse: String = "worse than", same: String = "indistinguishable from") -> String {
        switch c {
        case .better: return better
        case .worse: return worse
        case .indistinguishable: return same
        }
    }

    /// Better or worse only when the difference exceeds two standard errors (treating the two as independent,
    /// which overstates the error of paired measurements on the same tokens: the verdicts are conservative).
    static func compare(_ a: Quality, _ b: Quality) -> Comparison {
        let d = a.quality - b.quality
        if abs(d) <= 2 * seDiff(a, b) { return .indistinguishable }
        return d > 0 ? .better : .worse
    }

    static func seDiff(_ a: Quality, _ b: Quality) -> Double { (a.standardError * a.standardError + b.standardError * b.standardError).squareRoot() }

    static func ppl(_ q: Quality) -> String { q.perplexity.map { String(format: "%.4f", $0) } ?? "n/a" }
}
