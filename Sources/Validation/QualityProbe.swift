import Foundation
import Engine
import Runtime

/// One measurement of a model variant against the reference: for causal LMs, perplexity, mean KL of the
/// next-token distributions and top-1 agreement; for encoders, mean cosine of sentence embeddings.
/// `quality` is the figure the curves plot: top-1 agreement (LMs) or mean cosine (encoders), 1 = the reference.
public struct Quality: Codable, Sendable, Equatable {
    public var quality: Double
    /// Standard error of `quality` over the scored positions (LMs) or sentences (encoders).
    public var standardError: Double
    public var perplexity: Double?
    public var meanKL: Double?
    public var meanCosine: Double?
}

/// Measures weight variants against the reference model on a fixed eval set, with the reference's outputs
/// computed once and kept.
public final class QualityProbe: @unchecked Sendable {
    public enum Kind: String, Codable, Sendable { case causalLM = "causal-lm", embedding }
    public let kind: Kind
    public let referenceQuality: Quality
    private let windows: [[Int]]
    private let referenceLogProbs: [[Float]]      // per window, T x vocab
    private let sequences: [[Int]]
    private let referenceEmbeddings: [[Float]]
    private let pooling: SentencePooling
    private let vocab: Int

    /// `calibration`: score the last windows of the eval file (or a second sentence set) instead of the first,
    /// so that what the `auto` allocation is tuned on is not what the ablation scores.
    public init(reference: String, eval: String?, maxWindows: Int, calibration: Bool = false) throws {
        RuntimeThreads.configure()
        let referenceModel = try ReferenceModel(path: reference)
        let ref = referenceModel.weights
        let type = ref.config["model_type"]?.stringValue ?? ""
        if type == "bert" {
            kind = .embedding
            pooling = SentencePooling.load(folder: reference)
            let model = try BertModel(weights: ref, pooling: pooling)
            let tokenizer = try WordPieceTokenizer.load(folder: reference, maxLength: model.config.maxPositions)
            var sentences = calibration ? Self.calibrationSentences : Validator.builtInSentences
            if let e = eval {
                guard let d = FileManager.default.contents(atPath: e) else { throw RuntimeError.badInput("\(e): cannot read the eval file") }
                sentences = String(decoding: d, as: UTF8.self).components(separatedBy: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                sentences = Array(sentences.prefix(maxWindows))
            }
            sequences = sentences.map(tokenizer.encode)
            referenceEmbeddings = try model.embed(sequences)
            windows = []; referenceLogProbs = []; vocab = 0
            referenceQuality = Quality(quality: 1, standardError: 0, perplexity: nil, meanKL: nil, meanCosine: 1)
        } else {
            kind = .causalLM
            pooling = SentencePooling()
            let model = try LlamaModel(weights: ref)
            let file = eval ?? referenceModel.defaultEval
            let tokens = try EvalTokens.load(file: file, vocabSize: model.config.vocabSize, tokenizer: referenceModel.tokenizer())
            let all = EvalTokens.windows(tokens, window: min(512, model.config.maxPositions), maxWindows: nil)
            windows = calibration ? Array(all.suffix(maxWindows)) : Array(all.prefix(maxWindows))
            guard !windows.isEmpty else { throw RuntimeError.badInput("\(file): fewer tokens than one window") }
            vocab = model.config.vocabSize
            referenceLogProbs = try model.logProbs(windows).map(\.array)
            sequences = []; referenceEmbeddings = []
            var nll = 0.0, n = 0
            for (w, lp) in zip(windows, referenceLogProbs) {
                for i in 0..<(w.count - 1) { nll -= Double(lp[i * vocab + w[i + 1]]); n += 1 }
            }
            referenceQuality = Quality(quality: 1, standardError: 0, perplexity: exp(nll / Double(max(n, 1))), meanKL: 0, meanCosine: nil)
        }
    }

    static let calibrationSentences = [
        "A compression tool must keep the answers of the model it shrinks.",
        "The train leaves the station at seven in the morning.",
        "Researchers measured the effect of temperature on the reaction rate.",
        "Can you recommend a good book about the history of mathematics?",
        "The recipe calls for two cups of flour and a pinch of salt.",
        "Heavy rain is expected across the northern region this weekend.",
        "He forgot his umbrella and arrived at the office soaking wet.",
        "Neural networks learn representations from large amounts of data.",
    ]

    public func measure(_ weights: WeightProvider) throws -> Quality {
        switch kind {
        case .embedding:
            let e = try BertModel(weights: weights, pooling: pooling).embed(sequences)
            let c = zip(e, referenceEmbeddings).map { BertModel.cosine($0, $1) }
            let n = Double(max(c.count, 1))
            let mean = c.reduce(0, +) / n
            let variance = c.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(n - 1, 1)
            return Quality(quality: mean, standardError: (variance / n).squareRoot(), perplexity: nil, meanKL: nil, meanCosine: mean)
        case .causalLM:
            let lps = try LlamaModel(weights: weights).logProbs(windows)
            var nll = 0.0, kl = 0.0, agree = 0, n = 0
            for (b, w) in windows.enumerated() {
                let lp = lps[b].array, rl = referenceLogProbs[b]
                for i in 0..<(w.count - 1) {
                    let row = i * vocab
                    nll -= Double(lp[row + w[i + 1]])
                    var am = 0, ar = 0
                    var k = 0.0
                    for j in 0..<vocab {
                        let pr = Double(rl[row + j])
                        if pr > -80 { k += exp(pr) * (pr - Double(lp[row + j])) }
                        if lp[row + j] > lp[row + am] { am = j }
                        if rl[row + j] > rl[row + ar] { ar = j }
                    }
                    kl += max(k, 0)
                    if am == ar { agree += 1 }
                    n += 1
                }
            }
            let d = Double(max(n, 1))
            let p = Double(agree) / d
            return Quality(quality: p, standardError: (p * (1 - p) / d).squareRoot(), perplexity: exp(nll / d), meanKL: kl / d, meanCosine: nil)
        }
    }
}
