import ArgumentParser

/// `worker`: joins a coordinator and runs the tasks it hands out.
public struct WorkerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run compression tasks for a coordinator.",
        subcommands: [JoinCommand.self])
    public init() {}
}
