import ArgumentParser
import Foundation
import Engine
import Runtime

/// Runs a package and its reference model through the runtime: perplexity, KL divergence and top-1 agreement
/// for causal LMs, embedding cosine for BERT; writes validation/perplexity.json, benchmarks.json and
/// noise_profile.json into the package.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Measure a package against its reference model (perplexity, KL, top-1 agreement, or embedding cosine).")

    @Argument(help: "Package folder.") var package: String
    @Option(help: "The model the package was made from: its checkpoint folder or .gguf file.") var reference: String
    @Option(help: "Eval text, read by the model's tokenizer (bytes for a 256-token model, byte-level BPE from a GGUF's vocabulary or tokenizer.json), else whitespace-separated token ids; for BERT one sentence per line. Default: eval.txt in the reference folder or beside the .gguf, or built-in sentences for BERT.")
    var eval: String?
    @Option(help: "Score at most N windows (N sentences for BERT), for quick runs.") var maxWindows: Int?
    @Option(help: "Window length in tokens (capped at max_position_embeddings).") var window = 512
    @Option(help: "Windows run in parallel per batch.") var batch = 8
    @Flag(help: "JSON on stdout.") var json = false

    func validate() throws {
        if let m = maxWindows, m < 1 { throw ValidationError("--max-windows must be at least 1") }
        if window < 2 { throw ValidationError("--window must be at least 2") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    struct Output: Codable {
        var perplexity: PerplexityReport
        var benchmarks: BenchmarksReport
        var written: [String]
    }

    func run() throws {
        try withCleanExit {
            let r = try Validator.run(ValidationOptions(package: package, reference: reference, eval: eval, maxWindows: maxWindows,
                                                        window: window, batch: batch), progress: { stderr($0) })
            if json {
                print(String(decoding: try PackageJSON.encode(Output(perplexity: r.perplexity, benchmarks: r.benchmarks, written: r.written)), as: UTF8.self),
                      terminator: "")
                return
            }
            let p = r.perplexity
            print("validate \(package) against \(reference) (\(p.modelType))")
            if !p.referenceMatchesPackageSource { print("  warning: the reference is not the checkpoint this package was made from") }
            if let c = p.causal {
                let x = c.result
                print(String(format: "  eval %@: %d tokens, %d windows of %d, %d scored", p.eval, c.evalTokens, x.windows, c.window, x.scoredTokens))
                print(String(format: "  perplexity: package %.4f", x.perplexity))
                if let ref = x.reference {
                    print(String(format: "              reference %.4f (package %+.3f%%, ln ratio %.5f)", ref.perplexity,
                                 100 * (x.perplexity / ref.perplexity - 1), ref.lnPerplexityRatio))
                    print(String(format: "  KL divergence vs reference: mean %.6f ± %.6f nats (median %.6f, p99 %.6f, max %.4f)",
                                 ref.meanKL, ref.klStandardError, ref.klMedian, ref.klP99, ref.klMax))
                    print(String(format: "  same top-1 token: %.3f%%; RMS delta p %.4f%%", 100 * ref.top1Agreement, 100 * ref.rmsDeltaP))
                    print(String(format: "  forward: package %.1f s, reference %.1f s", x.forwardSeconds, ref.forwardSeconds))
                }
            }
            if let e = p.embedding {
                print(String(format: "  embedding cosine vs reference over %d sentences: mean %.6f, min %.6f (pooling %@%@)", e.sentences.count,
                             e.meanCosine, e.minCosine, e.pooling.mode.rawValue, e.pooling.normalize ? " + normalize" : ""))
            }
            let b = r.benchmarks
            print(String(format: "  bits per weight: %.3f (layers/ folder), %.3f (quantized tensors)", b.bitsPerWeightLayersFolder, b.bitsPerWeightQuantizedTensors))
            for (k, l) in b.levels.sorted(by: { $0.key < $1.key }) {
                print(String(format: "    level %@: %6.3f bpw, %5.1f%% of parameters, %@", k, l.bitsPerWeight, l.percentOfParameters,
                             l.patterns.isEmpty ? "source precision" : l.patterns.joined(separator: ",")))
            }
            for w in r.written { print("  wrote \(w)") }
        }
    }
}
