import ArgumentParser

/// `uqcit`: the user's tools around packages.
public struct UQCITCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "uqcit",
        abstract: "Inspect, export and analyze UQCIT packages and checkpoints.",
        subcommands: [AnalyzeCommand.self, InspectCommand.self, ExportCommand.self, ValidateCommand.self, AblateCommand.self, BenchCommand.self])
    public init() {}
}
