import ArgumentParser
import Foundation
import Engine
import Coordinator
import Pipeline

/// `coordinator plan`: what a job would be, from headers alone, and what planning it costs the coordinator.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan a job without running it: tensors, tasks, folders, planning time and peak memory.",
        discussion: "--model takes a checkpoint folder or synthetic:NAME (\(SyntheticArchitecture.names.joined(separator: ", "))).")

    @Option(help: "Checkpoint folder or synthetic:NAME.") var model: String
    @Option(help: "Profile name or YAML path.") var profile: String = "uqcit"
    @Option(help: "Only these transformer layers, A..B.") var layers: String?
    @Flag(help: "JSON on stdout.") var json = false

    struct Report: Codable {
        var model: String
        var tensors: Int
        var quantizedTensors: Int
        var parameters: Int
        var quantizedParameters: Int
        var folders: Int
        var tasks: Int
        var planningSeconds: Double
        var peakResidentMegabytes: Double
    }

    func run() throws {
        try withCleanExit {
            let prof = try ProfileLoader.load(profile)
            let range = try layers.map(LayerRange.parse)
            let started = Date()
            // What the coordinator holds before the first task goes out: the source headers, the plan, the scheduler.
            let source = try ModelSources.open(model)
            let plan = try JobPlan(source: source, profile: prof, layers: range)
            // Planning runs no task, so an auto profile's allocation is never called here.
            let scheduler = try JobScheduler(plan: plan, allocation: { _, _ in [:] })
            let seconds = Date().timeIntervalSince(started)
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            let r = Report(model: model, tensors: plan.assignments.count, quantizedTensors: plan.assignments.filter(\.isQuantized).count,
                           parameters: plan.totalParameters, quantizedParameters: plan.quantizedParameters, folders: plan.folders.count,
                           tasks: plan.taskCount, planningSeconds: seconds, peakResidentMegabytes: Double(usage.ru_maxrss) / 1024)
            precondition(scheduler.readyCount == r.quantizedTensors, "every quantized tensor starts with one task (ANALYZE, or MEASURE for auto)")
            if json {
                print(String(decoding: try PackageJSON.encode(r), as: UTF8.self), terminator: "")
            } else {
                print("""
                    \(model): \(r.tensors) tensors (\(r.quantizedTensors) quantized), \(ProgressReporter.count(r.parameters)) parameters \
                    (\(ProgressReporter.count(r.quantizedParameters)) quantized), \(r.folders) folders
                    tasks: \(r.tasks); planning \(String(format: "%.2f", r.planningSeconds)) s, peak memory \(String(format: "%.0f", r.peakResidentMegabytes)) MB
                    """)
            }
        }
    }
}
