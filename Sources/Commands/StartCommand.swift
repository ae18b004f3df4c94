import ArgumentParser
import Foundation
import Engine
import Coordinator
import Pipeline
import Validation

struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Compress a Hugging Face checkpoint into a UQCIT package.",
        discussion: """
            With no --model, compresses the demo model (see README): ../shared/models/tiny-llama-bytes if present, else $UQCIT_DEMO_MODEL.
            Running the same command again on an output folder with a journal resumes the job.
            Settings may come from a YAML file (--config, see cluster-config/cluster.yaml); flags override it.
            """)

    @Option(help: "YAML file with the settings below (cluster-config/local.yaml, cluster-config/cluster.yaml).") var config: String?
    @Option(help: "Hugging Face checkpoint folder (config.json + *.safetensors).") var model: String?
    @Option(help: "Output package folder (default out/package).") var out: String?
    @Option(help: "Profile name (cluster-config/profiles/NAME.yaml) or a YAML path (default uqcit).") var profile: String?
    @Option(help: "Bits per weight for a profile with candidates (auto, gptq-auto, gguf-auto): over all parameters from the layers/ folder, with --calibration over each block's linears from their arrays; for gguf-auto, either way, over the exported GGUF file's tensors.") var targetBpw: Double?
    @Option(help: "Calibration text, read by the model's tokenizer, for a calibrated profile (gptq-*, gptq-auto, importance-*) or a GGUF profile (gguf-*: GPTQ inside the ggml grids); keep it disjoint from eval text.") var calibration: String?
    @Option(help: "Use at most this many tokens of the calibration text (default: the profile's sequences x sequence_length).") var calibrationTokens: Int?
    @Option(help: "Text whose last 8 windows the sensitivity pass of a data-free auto profile scores (default: the model's eval.txt); keep it disjoint from eval text.") var sensitivityText: String?
    @Option(help: "Embedded workers, 0 for none (default: the core count).") var workers: Int?
    @Option(help: "Only these transformer layers, A..B.") var layers: String?
    @Option(help: "Serve remote workers on this endpoint, e.g. tcp://0.0.0.0:5555 (repeatable).") var bind: [String] = []
    @Option(help: "Heartbeat interval in milliseconds (default 1000).") var heartbeatMs: Int?
    @Option(help: "Heartbeats a peer may miss before it is declared dead (default 3).") var liveness: Int?
    @Option(help: "The coordinator's CURVE secret key file (coordinator keys generate).") var curveKey: String?
    @Option(help: "A worker public key file, or a folder of *.key files, allowed to connect (repeatable).") var allow: [String] = []
    @Option(help: "shared (workers see the output folder) or stream (outputs travel as chunks; default shared).") var storage: String?
    @Option(help: "When the job is done, stream the package into this GGUF file (gguf-* profiles); run again to redo it after a crash.") var gguf: String?
    @Option(help: "An importance matrix from llama-imatrix (GGUF): weights the ggml searches of gguf-* profiles, as llama-quantize --imatrix does.") var imatrix: String?
    @Option(help: "MiB of tiles the embedded workers hand to the assembler in memory, which it then neither reads back nor hashes again; 0 for none (each tile read back from its staged file and checked).")
    var handoffMb: Int = TileHandoff.defaultBudget >> 20
    @Flag(help: "Allow plain TCP on addresses other than loopback (no authentication, no encryption).") var insecure = false
    @Flag(help: "Print the summary as JSON on stdout.") var json = false
    @Flag(help: "No progress lines on stderr.") var quiet = false

    func validate() throws {
        guard handoffMb >= 0, handoffMb <= Int.max >> 20 else { throw ValidationError("--handoff-mb must be 0 or more MiB") }
    }

    func run() throws {
        try withCleanExit {
            // Before the plan is made, not when the first embedded worker starts: until then the idle pool OpenBLAS
            // started at load spins.
            BLASThreads.useOne()
            let file = try config.map(CoordinatorConfig.load) ?? CoordinatorConfig()
            let modelPath = try model ?? file.model ?? DemoModel.locate()
            let outPath = out ?? file.out ?? "out/package"
            var prof = try ProfileLoader.load(profile ?? file.profile ?? "uqcit")
            let n = workers ?? file.workers ?? ProcessInfo.processInfo.activeProcessorCount
            guard n >= 0 else { throw ValidationError("--workers must be 0 or more") }
            let range = try (layers ?? file.layers).map(LayerRange.parse)
            var cluster = ClusterOptions(bind: bind.isEmpty ? file.bind ?? [] : bind,
                                         heartbeat: HeartbeatSettings(intervalMs: heartbeatMs ?? file.heartbeatIntervalMs ?? 1000,
                                                                      liveness: liveness ?? file.heartbeatLiveness ?? 3),
                                         insecure: insecure || (file.insecure ?? false), maxAttempts: file.maxAttempts ?? 3,
                                         maxInvalidResults: file.maxInvalidResults ?? 3,
                                         leaseDeadlines: LeaseDeadlines(minimumSeconds: file.leaseMinSeconds ?? LeaseDeadlines().minimumSeconds,
                                                                        secondsPerMParam: file.leaseSecondsPerMParam ?? LeaseDeadlines().secondsPerMParam))
            let mode = storage ?? file.storage ?? "shared"
            guard let storageMode = StorageMode(rawValue: mode) else { throw ValidationError("--storage takes shared or stream, got '\(mode)'") }
            cluster.storage = storageMode
            if let keyFile = curveKey ?? file.curve?.coordinatorSecretKey {
                let allowed = allow.isEmpty ? file.curve?.allowedWorkerKeys ?? [] : allow
                cluster.curve = try KeyFiles.serverSettings(secretKeyFile: keyFile, allowed: allowed)
            } else if !allow.isEmpty {
                throw ValidationError("--allow needs --curve-key: worker keys are checked only on a CURVE coordinator")
            }
            if sensitivityText != nil && (prof.candidates == nil || calibration != nil) {
                throw ValidationError("--sensitivity-text applies to a data-free auto profile (candidates, no --calibration)")
            }
            var allocation: BitAllocation?
            if prof.candidates != nil {
                guard let target = targetBpw ?? prof.targetBitsPerWeight else {
                    throw ValidationError("profile \(prof.name) allocates bits to a budget: give --target-bpw")
                }
                prof.targetBitsPerWeight = target
                let report: @Sendable (String) -> Void = { [quiet] in if !quiet { stderr("[uqcit] " + $0) } }
                // With calibration text the candidates are scored by output error through each block's H on the
                // workers, block by block; without it, by weight error and a sensitivity pass here.
                allocation = calibration != nil ? AutoProfile.blockAllocation(targetBitsPerWeight: target, report: report)
                    : try AutoAllocation.allocation(model: modelPath, profile: prof, targetBitsPerWeight: target, calibration: sensitivityText, progress: report)
            } else if targetBpw != nil {
                throw ValidationError("--target-bpw applies to a profile with candidates (auto), not to \(prof.name)")
            }
            if calibrationTokens != nil && calibration == nil { throw ValidationError("--calibration-tokens needs --calibration FILE") }
            if !quiet { stderr("[uqcit] compressing \(modelPath) with profile \(prof.name) on \(n) embedded worker(s) -> \(outPath)") }
            let s = try CompressionJob.run(JobOptions(model: modelPath, out: outPath, profile: prof, workers: n, layers: range,
                                                      progress: !quiet, cluster: cluster, allocation: allocation,
                                                      importanceMatrix: try imatrix.map { path throws in try ImportanceMatrix(path: path) },
                                                      calibration: calibration.map { CalibrationText(file: $0, maxTokens: calibrationTokens) },
                                                      handoffBytes: handoffMb << 20))
            if let gguf {
                let g = try GGUFExporter.export(try PackageReader(path: outPath), to: gguf)
                if !quiet { stderr(String(format: "[uqcit] GGUF %@: %d tensors, %.3f bits per weight", gguf, g.tensors, g.bitsPerWeight)) }
            }
            if json {
                print(String(decoding: try PackageJSON.encode(s), as: UTF8.self), terminator: "")
            } else {
                print(Summary.text(s))
            }
        }
    }
}
