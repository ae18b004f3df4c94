import Foundation
import Engine
import Coordinator
import Pipeline
import Runtime

public struct AblationOptions: Sendable {
    public var model: String
    public var eval: String?
    public var out: String
    public var workers: Int
    public var maxWindows: Int
    public var noiseLevels: [Double]
    public var progress: Bool
    /// With calibration text: calibrated against data-free rounding at each width, diag(H) weighting against GPTQ.
    public var calibration: CalibrationText?

    public init(model: String, eval: String?, out: String, workers: Int, maxWindows: Int = 32,
                noiseLevels: [Double] = [0, 0.05, 0.1, 0.25, 0.5], progress: Bool = true, calibration: CalibrationText? = nil) {
        self.model = model; self.eval = eval; self.out = out; self.workers = workers
        self.maxWindows = maxWindows; self.noiseLevels = noiseLevels; self.progress = progress; self.calibration = calibration
    }
}

/// Runs the design's ablations on one model: each variant is compressed into a real package (bits counted
/// from its bytes) and run through the runtime against the reference; baselines and noise need no package.
public enum AblationStudy {
    public static func run(_ o: AblationOptions) throws -> AblationReport {
        let say: @Sendable (String) -> Void = { [progress = o.progress] in if progress { FileHandle.standardError.write(("[ablate] " + $0 + "\n").data(using: .utf8)!) } }
        try FileManager.default.createDirectory(atPath: o.out + "/packages", withIntermediateDirectories: true)
        let design = try ProfileLoader.load("uqcit")
        let checkpoint = try Checkpoint(folder: o.model)
        let plan = try JobPlan(checkpoint: checkpoint, profile: design)
        let probe = try QualityProbe(reference: o.model, eval: o.eval, maxWindows: o.maxWindows)
        let original = try CheckpointWeights(folder: o.model)
        var rows: [AblationReport.Row] = []

        func package(_ name: String, _ group: String, _ description: String, _ profile: Profile, allocation: BitAllocation? = nil,
                     calibration: CalibrationText? = nil) throws -> PackageMetadata {
            let dir = o.out + "/packages/" + name
            try? FileManager.default.removeItem(atPath: dir)
            let s = try CompressionJob.run(JobOptions(model: o.model, out: dir, profile: profile, workers: o.workers, progress: false,
                                                      allocation: allocation, calibration: calibration))
            let q = try probe.measure(PackageWeights(path: dir))
            rows.append(.init(name: name, group: group, description: description, bitsPerWeight: s.metadata.measured.bitsPerWeightLayersFolder, quality: q))
            say(String(format: "%@: %.3f bpw, quality %.5f", name, s.metadata.measured.bitsPerWeightLayersFolder, q.quality))
            return s.metadata
        }
        func variant(_ edit: (inout Profile) -> Void) -> Profile { var p = design; edit(&p); return p }
        func allLevels(_ p: inout Profile, _ edit: (inout LevelPolicy) -> Void) {
            for k in p.levels.keys { edit(&p.levels[k]!) }
        }

        let full = try package("uqcit", "design", "the design: level map, patterns, G=i rotation, GHZ clusters, level-3 compensation", design)
        _ = try package("no-concentration", "ablation", "same shares and bits, high columns drawn at random instead of by importance",
                        variant { allLevels(&$0) { $0.allocation = "random" } })
        _ = try package("no-rotation", "ablation", "no G=i rotation", variant { $0.rotation.enabled = false })
        _ = try package("no-level3-preservation", "ablation", "level 3 gets the 30-70 pattern of levels 2 and 4",
                        variant { $0.levels["3"] = $0.levels["2"] })
        _ = try package("no-compensation", "ablation", "no low-rank runtime compensation", variant { allLevels(&$0) { $0.compensationRank = 0 } })
        _ = try package("no-clusters", "ablation", "no GHZ cluster promotion", variant { $0.clusters.enabled = false })
        _ = try package("pattern-20-80", "pattern", "20% high precision at every level", variant { allLevels(&$0) { $0.highFraction = 0.2 } })
        _ = try package("pattern-50-50", "pattern", "50% high precision at every level", variant { allLevels(&$0) { $0.highFraction = 0.5 } })
        _ = try package("uniform-int4", "baseline", "INT4 g128 symmetric, error-minimising scales, embeddings and head at source", ProfileLoader.load("uniform-int4"))

        // Plain RTN as reference.py defines it: on the blocks' linear weights (reference.py's scope), and on every
        // weight the design quantizes (embeddings and head too: the fair scope for an fp32 model with large embeddings).
        let blockLinears = Set(plan.assignments.filter { $0.folder.hasPrefix("layer_") && $0.level >= 2 && $0.tensor.entry.shape.count == 2 }.map(\.name))
        let allWeights = Set(plan.assignments.filter(\.isQuantized).map(\.name))
        for (scope, names) in [("blocks", blockLinears), ("all", allWeights)] {
            for (bits, group) in [(8, Int?.none), (4, Int?.some(128)), (3, Int?.some(128))] {
                let name = "rtn-int\(bits)" + (group.map { "-g\($0)" } ?? "-per-channel") + "-" + scope
                let w = TransformedWeights(original, label: name) { n, v, shape in
                    names.contains(n) ? RoundToNearest.apply(v, cols: shape.dropFirst().reduce(1, *), bits: bits, group: group) : nil
                }
                var bitsTotal = 0.0
                for a in plan.assignments {
                    let e = a.tensor.entry
                    bitsTotal += names.contains(a.name) ? RoundToNearest.bitsPerWeight(bits: bits, group: group, cols: e.columns) * Double(e.elementCount)
                        : Double(e.elementCount * e.dtype.byteSize * 8)
                }
                let q = try probe.measure(w)
                rows.append(.init(name: name, group: "baseline",
                                  description: "reference.py's RTN on " + (scope == "blocks" ? "the blocks' linear weights" : "every weight the design quantizes") + "; the rest as stored",
                                  bitsPerWeight: bitsTotal / Double(plan.totalParameters), quality: q))
                say(String(format: "%@: %.3f bpw, quality %.5f", name, bitsTotal / Double(plan.totalParameters), q.quality))
            }
        }

        if let text = o.calibration { try calibrated(text, package) }

        // The auto profile at 4 and 3 bits, and at the bits of the RTN int4 and int3 baselines.
        let auto = try ProfileLoader.load("auto")
        let rtnBits = rows.filter { $0.name.hasPrefix("rtn-int4-g128") || $0.name.hasPrefix("rtn-int3-g128") }.map(\.bitsPerWeight).filter { $0 < 16 }
        var targets: [Double] = []
        for t in [4.0, 3.0] + rtnBits where !targets.contains(where: { abs($0 - t) < 0.01 }) { targets.append(t) }
        for target in targets {
            var p = auto
            p.targetBitsPerWeight = target
            let allocation = try AutoAllocation.allocation(model: o.model, profile: auto, targetBitsPerWeight: target, calibration: o.eval, progress: say)
            _ = try package(String(format: "auto-%.3f", target), "auto", String(format: "measured per-tensor allocation to %.3f bits per weight", target),
                            p, allocation: allocation)
        }

        // Level dominance: one level at a time with the design's pattern.
        var dominance: [AblationReport.LevelDominance] = []
        for level in 1...5 {
            guard full.measured.levels[String(level)] != nil, let policy = design.policy(level: level) else { continue }
            let meta = try package("only-level-\(level)", "level-only", "only level \(level) quantized (\(policy.pattern)), the rest at source",
                                   variant { $0.levels = [String(level): policy] })
            let share = full.measured.levels[String(level)]!.percentOfParameters
            let loss = 1 - rows.last!.quality.quality
            _ = meta
            dominance.append(.init(level: level, percentOfParameters: share, qualityLoss: loss, qualityLossPerPercent: loss / max(share, 1e-9)))
        }

        // Noise resistance: on all quantized tensors, then on each level's alone.
        var noise: [AblationReport.NoisePoint] = []
        let quantized = plan.assignments.filter(\.isQuantized)
        let scopes: [(String, Set<String>)] = [("all", Set(quantized.map(\.name)))] + (1...5).compactMap { l in
            let s = Set(quantized.filter { $0.level == l }.map(\.name))
            return s.isEmpty ? nil : ("level \(l)", s)
        }
        for (scope, names) in scopes {
            for level in o.noiseLevels {
                let q = level == 0 ? probe.referenceQuality : try probe.measure(TransformedWeights(original, label: "noise") { n, v, _ in
                    names.contains(n) ? NoiseInjection.apply(v, level: level, name: n) : nil
                })
                noise.append(.init(scope: scope, noise: level, quality: q))
            }
            say("noise curve for \(scope) done")
        }

        let patterns = full.measured.levels.sorted { $0.key < $1.key }.filter { $0.key != "0" }.map {
            AblationReport.PatternCheck(level: $0.key, patterns: $0.value.patterns, plannedHighFraction: $0.value.plannedHighFraction,
                                        realisedHighFraction: $0.value.realisedHighFraction)
        }
        var report = AblationReport(model: URL(fileURLWithPath: o.model).lastPathComponent, kind: probe.kind,
                                    qualityMeasure: probe.kind == .causalLM ? "top-1 agreement with the reference" : "mean embedding cosine to the reference",
                                    eval: o.eval ?? (probe.kind == .causalLM ? "eval.txt of the model folder" : "built-in sentences"),
                                    reference: probe.referenceQuality, rows: rows, noise: noise, patterns: patterns,
                                    invariants: try invariants(o.out + "/packages/uqcit"), levelDominance: dominance, findings: [])
        report.findings = Findings.derive(report)
        try AtomicFileWriter.write(PackageJSON.encode(report), to: o.out + "/ablation.json")
        try AtomicFileWriter.write(Array(report.text().utf8), to: o.out + "/ablation.txt")
        try AtomicFileWriter.write(Array(QualityChart.svg(report).utf8), to: o.out + "/ablation.svg")
        return report
    }

    /// At each width the same grid three ways: data-free, scales (or ggml searches) weighted by diag(H) of the
    /// calibration text as an importance matrix does, and GPTQ against the whole H; H captured block by block
    /// through the already quantized blocks, as the calibrated jobs do.
    static func calibrated(_ text: CalibrationText,
                           _ package: (String, String, String, Profile, BitAllocation?, CalibrationText?) throws -> PackageMetadata) throws {
        for width in ["int4", "int3", "int2"] {
            _ = try package("data-free-\(width)", "calibrated", "uniform-\(width): round to nearest, searched scales, no data", ProfileLoader.load("uniform-\(width)"), nil, nil)
            _ = try package("importance-\(width)", "calibrated", "importance-\(width): scales searched under diag(H)", ProfileLoader.load("importance-\(width)"), nil, text)
            _ = try package("gptq-\(width)", "calibrated", "gptq-\(width): GPTQ against H", ProfileLoader.load("gptq-\(width)"), nil, text)
        }
        for mix in ["q3_k_m", "q2_k"] {
            let gguf = try ProfileLoader.load("gguf-\(mix)")
            var importance = gguf
            importance.name += "-importance"
            importance.calibration = CalibrationSettings.ggufDefault
            importance.calibration!.rounding = .diagonalImportance
            _ = try package("gguf-\(mix)", "calibrated", "gguf-\(mix): our ggml searches, no data", gguf, nil, nil)
            _ = try package("gguf-\(mix)-importance", "calibrated", "gguf-\(mix), ggml searches under diag(H) (an imatrix)", importance, nil, text)
            _ = try package("gguf-\(mix)-gptq", "calibrated", "gguf-\(mix), GPTQ inside the ggml grids", gguf, nil, text)
        }
    }

    /// The worst measured G=i invariants over every rotation.json of a package.
    static func invariants(_ package: String) throws -> AblationReport.Invariants? {
        var inv = AblationReport.Invariants(tensors: 0, maxAbsGGPlusI: 0, maxRowNormRelError: 0, maxTopSingularValueRelError: 0)
        for folder in try FileManager.default.contentsOfDirectory(atPath: package + "/layers") {
            guard let d = FileManager.default.contents(atPath: package + "/layers/" + folder + "/rotation.json"),
                  let json = try JSONSerialization.jsonObject(with: d) as? [String: [String: Any]] else { continue }
            for (_, r) in json {
                guard let i = r["invariants"] as? [String: Double] else { continue }
                inv.tensors += 1
                inv.maxAbsGGPlusI = max(inv.maxAbsGGPlusI, i["maxAbsGGPlusI"] ?? 0)
                inv.maxRowNormRelError = max(inv.maxRowNormRelError, i["maxRowNormRelError"] ?? 0)
                inv.maxTopSingularValueRelError = max(inv.maxTopSingularValueRelError, i["topSingularValueRelError"] ?? 0)
            }
        }
        return inv.tensors == 0 ? nil : inv
    }
}
