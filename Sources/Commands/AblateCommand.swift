import ArgumentParser
import Foundation
import Coordinator
import Validation

/// The design's sections 4.1 and 4.3 as one measured report: text, JSON and an SVG chart.
struct AblateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ablate",
        abstract: "Compress a model in every ablation of the design and measure each against the reference.",
        discussion: "Writes ablation.txt, ablation.json and ablation.svg (quality against bits per weight) into --out, with each variant's package under --out/packages.")

    @Argument(help: "Hugging Face checkpoint folder.") var model: String
    @Option(help: "Eval file: raw bytes for byte-level LMs, token ids, or sentences (one per line) for BERT.") var eval: String?
    @Option(help: "Report folder.") var out: String = "out/ablation"
    @Option(help: "Eval windows (LMs) or sentences (BERT) to score.") var maxWindows: Int = 32
    @Option(help: "In-process workers for the compression runs.") var workers: Int?
    @Option(help: "Calibration text (disjoint from the eval text): adds data-free, diag(H)-weighted and GPTQ variants at int4, int3, int2, Q3_K_M and Q2_K.")
    var calibration: String?
    @Option(help: "Use at most this many tokens of the calibration text.") var calibrationTokens: Int?
    @Flag(help: "Print the report as JSON on stdout.") var json = false

    func validate() throws {
        if calibrationTokens != nil && calibration == nil { throw ValidationError("--calibration-tokens needs --calibration") }
        if let n = calibrationTokens, n < 1 { throw ValidationError("--calibration-tokens must be at least 1") }
    }

    func run() throws {
        try withCleanExit {
            let r = try AblationStudy.run(AblationOptions(model: model, eval: eval, out: out,
                                                          workers: workers ?? ProcessInfo.processInfo.activeProcessorCount, maxWindows: maxWindows,
                                                          calibration: calibration.map { CalibrationText(file: $0, maxTokens: calibrationTokens) }))
            if json { print(String(decoding: try FileManager.default.contents(atPath: out + "/ablation.json")!, as: UTF8.self), terminator: "") }
            else { print(r.text(), terminator: "") }
        }
    }
}
