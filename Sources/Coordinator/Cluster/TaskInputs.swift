import Engine
import Pipeline

/// The staged files a task reads, by staging name: in stream mode they travel down to its worker ahead of the
/// assignment (the worker has no view of the coordinator's staging folder).
enum TaskInputs {
    static func stagedFiles(of task: TaskSpec, plan: JobPlan) -> [String] {
        switch task.kind {
        case .compensate:
            return (0..<plan.tileCount(task.tensorIndex)).map { StagingNames.tile(task.tensorIndex, $0) }
        case .capture, .propagate:
            guard let pass = task.layerPass else { return [] }
            return (pass.hidden.map { [$0.name] } ?? []) + pass.tensors.flatMap { $0.staged?.tiles.map(\.name) ?? [] }
        case .quantize:
            return task.quantize?.hessian?.shards.map(\.name) ?? []
        case .measure:
            return task.measure?.hessian?.shards.map(\.name) ?? []
        case .analyze:
            return []
        }
    }
}
