import ArgumentParser

/// `coordinator`: runs compression jobs (embedded workers by default, remote ones with --bind) and reports on them.
public struct CoordinatorCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Plan a compression job from a checkpoint's headers, hand its tasks to workers, and assemble the package.",
        subcommands: [StartCommand.self, SimulateCommand.self, PlanCommand.self, StatusCommand.self, KeysCommand.self])
    public init() {}
}
