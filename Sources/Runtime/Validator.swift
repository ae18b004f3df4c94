import Foundation
import Engine

/// The measured per-tensor noise of a package (relative Frobenius error of the reconstructed weights), taken
/// from validation/tensors.json and written as validation/noise_profile.json: the noise the runtime reads.
public struct NoiseProfile: Codable, Sendable, Equatable {
    public struct Tensor: Codable, Sendable, Equatable {
        public var name: String
        public var level: Int
        public var role: String
        public var pattern: String?
        public var relativeError: Double
        public var sqnrDB: Double?
        public var relativeErrorBeforeCompensation: Double?
        public var compensationRank: Int?
    }
    public struct Level: Codable, Sendable, Equatable {
        public var tensors: Int
        public var relativeError: Double
        public var meanSQNRdB: Double?
        public var maxRelativeError: Double
    }
    public var source: String
    public var relativeErrorQuantized: Double
    public var levels: [String: Level]
    public var tensors: [Tensor]

    public init(reports: [TensorReport], relativeErrorQuantized: Double) {
        source = "validation/tensors.json"
        self.relativeErrorQuantized = relativeErrorQuantized
        tensors = reports.map {
            Tensor(name: $0.name, level: $0.level, role: $0.role, pattern: $0.pattern, relativeError: $0.relativeError, sqnrDB: $0.sqnrDB,
                   relativeErrorBeforeCompensation: $0.relativeErrorBeforeCompensation, compensationRank: $0.compensationRank)
        }
        var lv: [String: Level] = [:]
        for level in Set(reports.map(\.level)) {
            let r = reports.filter { $0.level == level }
            let p = r.reduce(0) { $0 + $1.parameters }
            let err = (r.reduce(0.0) { $0 + $1.relativeError * $1.relativeError * Double($1.parameters) } / Double(max(p, 1))).squareRoot()
            let s = r.compactMap(\.sqnrDB)
            lv[String(level)] = Level(tensors: r.count, relativeError: err, meanSQNRdB: s.isEmpty ? nil : s.reduce(0, +) / Double(s.count),
                                      maxRelativeError: r.map(\.relativeError).max() ?? 0)
        }
        levels = lv
    }

    /// The package's noise profile: noise_profile.json when validate wrote it, else derived from tensors.json.
    public static func load(package: String) throws -> NoiseProfile {
        if let d = FileManager.default.contents(atPath: package + "/validation/noise_profile.json") {
            return try PackageJSON.decode(NoiseProfile.self, from: Array(d))
        }
        let path = package + "/validation/tensors.json"
        guard let d = FileManager.default.contents(atPath: path) else { throw PackageError.invalid(path: path, reason: "missing") }
        let reports = try PackageJSON.decode([TensorReport].self, from: Array(d))
        let q = reports.filter { $0.pattern != nil }
        let n = q.reduce(0) { $0 + $1.parameters }
        let err = (q.reduce(0.0) { $0 + $1.relativeError * $1.relativeError * Double($1.parameters) } / Double(max(n, 1))).squareRoot()
        return NoiseProfile(reports: reports, relativeErrorQuantized: err)
    }

    public func relativeError(of name: String) -> Double? { tensors.first { $0.name == name }?.relativeError }
}

public struct ValidationOptions: Sendable {
    public var package: String
    public var reference: String
    public var eval: String?
    public var maxWindows: Int?
    public var window: Int
    public var batch: Int

    public init(package: String, reference: String, eval: String? = nil, maxWindows: Int? = nil, window: Int = 512, batch: Int = 8) {
        self.package = package
        self.reference = reference
        self.eval = eval
        self.maxWindows = maxWindows
        self.window = window
        self.batch = batch
    }
}

/// validation/perplexity.json. For causal LMs `causal` is filled, for encoders `embedding`.
public struct PerplexityReport: Codable, Sendable {
    public var kind: String
    public var modelType: String
    public var reference: String
    public var referenceMatchesPackageSource: Bool
    public var eval: String
    public var causal: Causal?
    public var embedding: Embedding?

    public struct Causal: Codable, Sendable {
        public var evalTokens: Int
        public var window: Int
        public var maxWindows: Int?
        public var scoring: String
        public var result: CausalEvalResult
    }
    public struct Embedding: Codable, Sendable {
        public var pooling: SentencePooling
        public var meanCosine: Double
        public var minCosine: Double
        public var sentences: [Sentence]
        public var forwardSeconds: Double
        public var referenceForwardSeconds: Double
    }
    public struct Sentence: Codable, Sendable {
        public var text: String
        public var tokens: Int
        public var cosine: Double
    }
}

/// validation/benchmarks.json: bits per weight per level (from the package metadata) beside the quality and
/// speed measured by validate.
public struct BenchmarksReport: Codable, Sendable {
    public struct Level: Codable, Sendable {
        public var bitsPerWeight: Double
        public var percentOfParameters: Double
        public var parameters: Int
        public var patterns: [String]
        public var relativeError: Double
    }
    public var profile: String
    public var bitsPerWeightLayersFolder: Double
    public var bitsPerWeightQuantizedTensors: Double
    public var compressionRatioVsSource: Double
    public var levels: [String: Level]
    public var quality: [String: Double]
    public var throughput: [String: Double]
}

public struct ValidationReport: Sendable {
    public var perplexity: PerplexityReport
    public var benchmarks: BenchmarksReport
    public var noise: NoiseProfile
    public var written: [String]
}

/// `uqcit validate`: runs the package and its reference model through the runtime, and writes
/// validation/perplexity.json, benchmarks.json and noise_profile.json into the package (each temp + rename).
public enum Validator {
    public static let builtInSentences = [
        "The quick brown fox jumps over the lazy dog.",
        "A man is playing a guitar on the stage.",
        "Quantization reduces the memory footprint of large language models.",
        "Où est la bibliothèque? Je cherche un livre très intéressant!",
        "Stock markets fell sharply after the central bank raised interest rates.",
        "She sells sea shells by the sea shore.",
        "How do I reset my password if I forgot my email address?",
        "Photosynthesis converts light energy into chemical energy in plants.",
    ]

    public static func run(_ o: ValidationOptions, progress: ((String) -> Void)? = nil) throws -> ValidationReport {
        RuntimeThreads.configure()
        let pkg = try PackageWeights(path: o.package)
        let reference = try ReferenceModel(path: o.reference)
        let ref = reference.weights
        let meta = pkg.reader.metadata
        let matches = reference.fingerprint == meta.source.fingerprint
        if !matches { progress?("warning: \(o.reference) is not the checkpoint this package was made from (fingerprints differ)") }
        let modelType = pkg.config["model_type"]?.stringValue ?? meta.source.modelType
        var quality: [String: Double] = [:]
        var throughput: [String: Double] = [:]
        let report: PerplexityReport
        switch modelType {
        case "llama", "mistral", "qwen2":
            let model = try LlamaModel(weights: pkg), refModel = try LlamaModel(weights: ref)
            let evalFile = o.eval ?? reference.defaultEval
            guard FileManager.default.fileExists(atPath: evalFile) else {
                throw RuntimeError.badInput("no eval file: pass --eval FILE (\(evalFile) does not exist)")
            }
            let window = min(o.window, model.config.maxPositions)
            let tokens = try EvalTokens.load(file: evalFile, vocabSize: model.config.vocabSize, tokenizer: reference.tokenizer())
            let windows = EvalTokens.windows(tokens, window: window, maxWindows: o.maxWindows)
            guard !windows.isEmpty else { throw RuntimeError.badInput("\(evalFile): \(tokens.count) tokens, fewer than one window of \(window)") }
            let t0 = Date()
            try model.preload()
            try refModel.preload()
            throughput["packageLoadSeconds"] = Date().timeIntervalSince(t0)
            var lastReport = Date.distantPast
            let r = try CausalLMEvaluator.evaluate(model: model, reference: refModel, windows: windows, batch: o.batch) { p in
                if p.windowsDone == p.windows || Date().timeIntervalSince(lastReport) >= 5 {
                    lastReport = Date()
                    progress?(String(format: "validate: %d/%d windows, %.0f s elapsed, ETA %.0f s", p.windowsDone, p.windows, p.elapsed, p.eta.isNaN ? 0 : p.eta))
                }
            }
            report = PerplexityReport(kind: "causal-lm", modelType: modelType, reference: o.reference, referenceMatchesPackageSource: matches,
                                      eval: evalFile,
                                      causal: .init(evalTokens: tokens.count, window: window, maxWindows: o.maxWindows,
                                                    scoring: "non-overlapping windows; the first token of each window is context only",
                                                    result: r), embedding: nil)
            quality["perplexity"] = r.perplexity
            if let c = r.reference {
                quality["referencePerplexity"] = c.perplexity
                quality["perplexityChangePercent"] = 100 * (r.perplexity / c.perplexity - 1)
                quality["meanKL"] = c.meanKL
                quality["top1Agreement"] = c.top1Agreement
                throughput["referenceTokensPerSecond"] = Double(r.scoredTokens + r.windows) / max(c.forwardSeconds, 1e-9)
            }
            throughput["packageTokensPerSecond"] = Double(r.scoredTokens + r.windows) / max(r.forwardSeconds, 1e-9)
        case "bert":
            let pooling = SentencePooling.load(folder: o.reference)
            let model = try BertModel(weights: pkg, pooling: pooling), refModel = try BertModel(weights: ref, pooling: pooling)
            // The package carries the tokenizer files in tokenizer/; fall back to the reference folder.
            let tokFolder = [o.package + "/tokenizer", o.package, o.reference].first { FileManager.default.fileExists(atPath: $0 + "/vocab.txt") } ?? o.reference
            let tokenizer = try WordPieceTokenizer.load(folder: tokFolder, maxLength: model.config.maxPositions)
            var sentences = builtInSentences
            if let e = o.eval {
                guard let d = FileManager.default.contents(atPath: e) else { throw RuntimeError.badInput("\(e): cannot read the eval file") }
                sentences = String(decoding: d, as: UTF8.self).components(separatedBy: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                if let m = o.maxWindows { sentences = Array(sentences.prefix(m)) }
                guard !sentences.isEmpty else { throw RuntimeError.badInput("\(e): no sentences (one per line)") }
            }
            let ids = sentences.map(tokenizer.encode)
            var t0 = Date()
            var a: [[Float]] = [], b: [[Float]] = []
            var tPkg = 0.0, tRef = 0.0
            for s in stride(from: 0, to: ids.count, by: max(o.batch, 1)) {
                let chunk = Array(ids[s..<min(s + max(o.batch, 1), ids.count)])
                t0 = Date(); a += try model.embed(chunk); tPkg += Date().timeIntervalSince(t0)
                t0 = Date(); b += try refModel.embed(chunk); tRef += Date().timeIntervalSince(t0)
                progress?("validate: \(min(s + chunk.count, ids.count))/\(ids.count) sentences")
            }
            let cos = zip(a, b).map { BertModel.cosine($0, $1) }
            let per = (0..<sentences.count).map { PerplexityReport.Sentence(text: sentences[$0], tokens: ids[$0].count, cosine: cos[$0]) }
            let mean = cos.reduce(0, +) / Double(max(cos.count, 1))
            report = PerplexityReport(kind: "embedding", modelType: modelType, reference: o.reference, referenceMatchesPackageSource: matches,
                                      eval: o.eval ?? "built-in sentences", causal: nil,
                                      embedding: .init(pooling: pooling, meanCosine: mean, minCosine: cos.min() ?? 0, sentences: per,
                                                       forwardSeconds: tPkg, referenceForwardSeconds: tRef))
            quality["meanCosine"] = mean
            quality["minCosine"] = cos.min() ?? 0
            let toks = Double(ids.reduce(0) { $0 + $1.count })
            throughput["packageTokensPerSecond"] = toks / max(tPkg, 1e-9)
            throughput["referenceTokensPerSecond"] = toks / max(tRef, 1e-9)
        default:
            throw RuntimeError.unsupported("model_type '\(modelType)': the runtime runs the Llama family (llama, mistral, qwen2) and BERT")
        }

        let m = meta.measured
        var levels: [String: BenchmarksReport.Level] = [:]
        for (k, l) in m.levels {
            levels[k] = .init(bitsPerWeight: l.bitsPerWeight, percentOfParameters: l.percentOfParameters, parameters: l.parameters,
                              patterns: l.patterns, relativeError: l.relativeError)
        }
        let bench = BenchmarksReport(profile: meta.profile.name, bitsPerWeightLayersFolder: m.bitsPerWeightLayersFolder,
                                     bitsPerWeightQuantizedTensors: m.bitsPerWeightQuantizedTensors,
                                     compressionRatioVsSource: m.compressionRatioVsSource, levels: levels, quality: quality, throughput: throughput)
        let tensorsPath = o.package + "/validation/tensors.json"
        guard let td = FileManager.default.contents(atPath: tensorsPath) else { throw PackageError.invalid(path: tensorsPath, reason: "missing") }
        let noise = NoiseProfile(reports: try PackageJSON.decode([TensorReport].self, from: Array(td)), relativeErrorQuantized: m.relativeErrorQuantized)

        let folder = o.package + "/validation"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var written: [String] = []
        for (name, bytes) in [("perplexity.json", try PackageJSON.encode(report)), ("benchmarks.json", try PackageJSON.encode(bench)),
                              ("noise_profile.json", try PackageJSON.encode(noise))] {
            try AtomicFileWriter.write(bytes, to: folder + "/" + name)
            written.append(folder + "/" + name)
        }
        return ValidationReport(perplexity: report, benchmarks: bench, noise: noise, written: written)
    }
}
