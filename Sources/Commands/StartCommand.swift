import ArgumentParser
import Foundation
import Engine
import Pipeline

struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Compress a Hugging Face checkpoint into a UQCIT package.",
        discussion: "With no --model, compresses the demo model (see README): ../shared/models/tiny-llama-bytes if present, else $UQCIT_DEMO_MODEL.")

    @Option(help: "Hugging Face checkpoint folder (config.json + *.safetensors).") var model: String?
    @Option(help: "Output package folder.") var out: String = "out/package"
    @Option(help: "Profile name (cluster-config/profiles/NAME.yaml) or a YAML path.") var profile: String = "uqcit"
    @Option(help: "In-process workers (default: the core count).") var workers: Int?
    @Option(help: "Only these transformer layers, A..B.") var layers: String?
    @Flag(help: "Print the summary as JSON on stdout.") var json = false
    @Flag(help: "No progress lines on stderr.") var quiet = false

    func run() throws {
        try withCleanExit {
            let modelPath = try model ?? DemoModel.locate()
            let prof = try ProfileLoader.load(profile)
            let n = workers ?? ProcessInfo.processInfo.activeProcessorCount
            guard n >= 1 else { throw ValidationError("--workers must be at least 1") }
            let range = try layers.map(LayerRange.parse)
            Numerics.configureThreads(forWorkers: n)
            if !quiet { stderr("[uqcit] compressing \(modelPath) with profile \(prof.name) on \(n) embedded worker(s) -> \(out)") }
            let s = try CompressionJob.run(JobOptions(model: modelPath, out: out, profile: prof, workers: n, layers: range, progress: !quiet))
            if json {
                print(String(decoding: try PackageJSON.encode(s), as: UTF8.self), terminator: "")
            } else {
                print(Summary.text(s))
            }
        }
    }
}
