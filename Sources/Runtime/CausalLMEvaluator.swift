import Foundation

/// Text to score: raw bytes for byte-level models (vocabulary of 256), otherwise whitespace-separated token ids.
public enum EvalTokens {
    /// The eval file's tokens: its text through the model's tokenizer (bytes for a 256-token model when none is
    /// given), or, for a model without one, whitespace-separated token ids.
    public static func load(file: String, vocabSize: Int, tokenizer: ModelTokenizer? = nil) throws -> [Int] {
        guard let d = FileManager.default.contents(atPath: file) else { throw RuntimeError.badInput("\(file): cannot read the eval file") }
        if let t = tokenizer ?? (vocabSize == 256 ? .bytes : nil) { return t.encode(Array(d)) }
        var out: [Int] = []
        for (i, w) in String(decoding: d, as: UTF8.self).split(whereSeparator: { $0.isWhitespace }).enumerated() {
            guard let id = Int(w), id >= 0, id < vocabSize else {
                throw RuntimeError.badInput("\(file): word \(i + 1) '\(w.prefix(20))' is not a token id below \(vocabSize) (a model without a tokenizer reads whitespace-separated ids)")
            }
            out.append(id)
        }
        return out
    }

    /// Non-overlapping windows of `window` tokens. As reference.py: a trailing remainder of at least 2 tokens is
    /// a last, shorter window, unless `maxWindows` bounds the count.
    public static func windows(_ tokens: [Int], window: Int, maxWindows: Int? = nil) -> [[Int]] {
        var out: [[Int]] = []
        var s = 0
        while s + window <= tokens.count { out.append(Array(tokens[s..<s + window])); s += window }
        if let m = maxWindows { return Array(out.prefix(m)) }
        if tokens.count - s >= 2 { out.append(Array(tokens[s...])) }
        return out
    }
}

/// Perplexity of a model, and with a reference: the KL divergence of next-token distributions and the share of
/// positions whose top-1 token is the same, as llama.cpp's `perplexity --kl-divergence` reports them.
/// The first token of each window is context only: positions 0..<T-1 predict tokens 1..<T.
public struct CausalEvalResult: Codable, Sendable, Equatable {
    public var windows: Int
    public var windowTokens: Int
    public var scoredTokens: Int
    public var perplexity: Double
    public var nllPerToken: Double
    public var forwardSeconds: Double
    public var reference: ReferenceComparison?

    public struct ReferenceComparison: Codable, Sendable, Equatable {
        public var perplexity: Double
        public var nllPerToken: Double
        public var forwardSeconds: Double
        /// ln(PPL(package) / PPL(reference)).
        public var lnPerplexityRatio: Double
        /// Mean over scored positions of KL(P_reference || P_package), nats.
        public var meanKL: Double
        public var klStandardError: Double
        public var klMedian: Double
        public var klP99: Double
        public var klMax: Double
        /// Share of scored positions whose argmax token agrees, in [0, 1].
        public var top1Agreement: Double
        /// RMS of (p_package - p_reference) for the correct token, as llama.cpp's "RMS Δp".
        public var rmsDeltaP: Double
    }
}

public enum CausalLMEvaluator {
    public struct Progress: Sendable {
        public var windowsDone: Int
        public var windows: Int
        public var elapsed: Double
        public var eta: Double { windowsDone == 0 ? .nan : elapsed / Double(windowsDone) * Double(windows - windowsDone) }
    }

    /// Scores `windows` with `model`, and compares with `reference` when given. Windows go through in batches
    /// of `batch` (each batch is run in parallel over the cores).
    public static func evaluate(model: LlamaModel, reference: LlamaModel? = nil, windows: [[Int]], batch: Int = 8,
                                progress: ((Progress) -> Void)? = nil) throws -> CausalEvalResult {
        let v = model.config.vocabSize
        if let r = reference, r.config.vocabSize != v {
            throw RuntimeError.badInput("the package has a vocabulary of \(v) tokens, the reference \(r.config.vocabSize)")
        }
        // Log-probs are [T, vocab] per window and model: bound a batch's to about 512 MiB (large vocabularies).
        let longest = windows.map(\.count).max() ?? 1
        let perWindow = longest * v * 4 * (reference == nil ? 1 : 2)
        let batch = max(1, min(batch, (512 << 20) / max(perWindow, 1)))
        let start = Date()
        var nll = 0.0, refNLL = 0.0, scored = 0
        var tModel = 0.0, tRef = 0.0
        var kls: [Double] = []
        var agree = 0
        var dp2 = 0.0
        var done = 0
        for s in stride(from: 0, to: windows.count, by: batch) {
            let chunk = Array(windows[s..<min(s + batch, windows.count)])
            var t0 = Date()
            let lp = try model.logProbs(chunk)
            tModel += Date().timeIntervalSince(t0)
            var rlp: [Matrix]? = nil
            if let r = reference {
                t0 = Date()
                rlp = try r.logProbs(chunk)
                tRef += Date().timeIntervalSince(t0)
            }
            // Score each window on its own thread, then add up in window order (deterministic).
            let stats = chunk.map { _ in WindowStats() }
            let refs = rlp
            RuntimeThreads.parallelFor(chunk.count) { b in stats[b].score(chunk[b], lp[b], refs?[b], vocab: v) }
            for st in stats {
                nll += st.nll; refNLL += st.refNLL; scored += st.scored
                kls += st.kls; agree += st.agree; dp2 += st.dp2
            }
            done += chunk.count
            progress?(Progress(windowsDone: done, windows: windows.count, elapsed: Date().timeIntervalSince(start)))
        }
        let n = Double(max(scored, 1))
        var result = CausalEvalResult(windows: windows.count, windowTokens: windows.first?.count ?? 0, scoredTokens: scored,
                                      perplexity: exp(nll / n), nllPerToken: nll / n, forwardSeconds: tModel, reference: nil)
        if reference != nil {
            let mean = kls.reduce(0, +) / n
            let variance = kls.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(n - 1, 1)
            let sorted = kls.sorted()
            func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1)))] }
            result.reference = .init(perplexity: exp(refNLL / n), nllPerToken: refNLL / n, forwardSeconds: tRef,
                                     lnPerplexityRatio: (nll - refNLL) / n, meanKL: mean, klStandardError: (variance / n).squareRoot(),
                                     klMedian: pct(0.5), klP99: pct(0.99), klMax: sorted.last ?? 0,
                                     top1Agreement: Double(agree) / n, rmsDeltaP: (dp2 / n).squareRoot())
        }
        return result
    }
}

/// One window's share of the scores; filled by one thread.
final class WindowStats: @unchecked Sendable {
    var nll = 0.0, refNLL = 0.0, dp2 = 0.0
    var scored = 0, agree = 0
    var kls: [Double] = []

    func score(_ w: [Int], _ lp: Matrix, _ rlp: Matrix?, vocab v: Int) {
        guard w.count >= 2 else { return }
        for i in 0..<(w.count - 1) {
            let row = lp.row(i), next = w[i + 1]
            nll -= Double(row[next])
            scored += 1
            guard let rl = rlp?.row(i) else { continue }
            refNLL -= Double(rl[next])
            var kl = 0.0
            var am = 0, ar = 0
            for j in 0..<v {
                let pr = Double(rl[j])
                if pr > -80 { kl += exp(pr) * (pr - Double(row[j])) }
                if row[j] > row[am] { am = j }
                if rl[j] > rl[ar] { ar = j }
            }
            kls.append(max(kl, 0))
            if am == ar { agree += 1 }
            let d = exp(Double(row[next])) - exp(Double(rl[next]))
            dp2 += d * d
        }
    }
}
