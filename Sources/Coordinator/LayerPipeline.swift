import Engine
import Pipeline

/// The dependencies of a calibrated plan's layer pipeline, for the scheduler (and owned by its thread): which
/// CAPTURE shards of each block are in with their H files, which analyzed linears wait for them, how many of a
/// block's tiles remain before its PROPAGATE tasks, and how many shards each block has propagated.
final class LayerPipeline {
    let calibration: CalibrationPlan
    private var hessians: [Int: [Int: [TaskOutputFile]]] = [:]
    private var waiting: [Int: [(tensor: Int, analysis: AnalysisResult)]] = [:]
    private var tilesRemaining: [Int]
    private var propagatedShards: [Int]
    /// X_b of each shard, as PROPAGATE of block b - 1 staged it: PROPAGATE of block b reads it again.
    private var hiddenFiles: [Int: [Int: TaskOutputFile]] = [:]

    init(_ calibration: CalibrationPlan, plan: JobPlan) {
        self.calibration = calibration
        tilesRemaining = calibration.blocks.map { $0.linears.values.reduce(0) { $0 + plan.tileCount($1) } }
        propagatedShards = calibration.blocks.map { _ in 0 }
    }

    /// CAPTURE of block 0 on every shard: it embeds the tokens itself.
    func firstTasks() -> [TaskSpec] {
        calibration.shards.indices.map { .captureTask(anchor: calibration.blocks[0].anchor, calibration.layerPass(block: 0, shard: $0, hidden: nil)) }
    }

    /// A calibrated linear's ANALYZE is in: its tiles, once its block's H are all in.
    func analyzed(_ i: Int, plan: JobPlan, analysis: AnalysisResult) -> [TaskSpec] {
        let b = calibration.linear(i)!.block
        guard hessians[b]?.count == calibration.shards.count else {
            waiting[b, default: []].append((i, analysis))
            return []
        }
        return tiles(i, block: b, plan: plan, analysis: analysis)
    }

    /// A CAPTURE shard is in; with the block's last one, the tiles of its analyzed linears, or, in a calibrated
    /// auto job, a MEASURE of each linear against its H (their ANALYZE follows the block's allocation).
    func captured(_ spec: LayerPassSpec, files: [TaskOutputFile], plan: JobPlan) -> [TaskSpec] {
        let b = spec.layer
        hessians[b, default: [:]][spec.shard] = files
        guard hessians[b]!.count == calibration.shards.count else { return [] }
        let unallocated = calibration.blocks[b].linears.values.sorted().filter(plan.awaitsAllocation)
        if !unallocated.isEmpty {
            return unallocated.map { .measureTask($0, plan.measureSpec($0, hessian: hessianInput($0, block: b))) }
        }
        defer { waiting[b] = nil }
        return (waiting[b] ?? []).flatMap { tiles($0.tensor, block: b, plan: plan, analysis: $0.analysis) }
    }

    /// A tile of block `b` is in; with its last one, PROPAGATE of every shard (but through the last block: nothing
    /// reads its output). `stagedFiles`: every finished task's outputs by tensor, as the scheduler holds them.
    func quantized(block b: Int, plan: JobPlan, stagedFiles: [Int: [String: TaskOutputFile]], analyses: [Int: AnalysisResult]) -> [TaskSpec] {
        tilesRemaining[b] -= 1
        guard tilesRemaining[b] == 0, b + 1 < calibration.blocks.count else { return [] }
        let block = calibration.blocks[b]
        var staged: [BlockTensorRole: StagedTensor] = [:]
        for (role, i) in block.linears {
            let tiles = (0..<plan.tileCount(i)).map { stagedFiles[i]![StagingNames.tile(i, $0)]! }
            staged[role] = StagedTensor(layout: plan.layout(i, analysis: analyses[i]!), tileRows: plan.tileRows[i], tiles: tiles)
        }
        return calibration.shards.indices.map {
            .propagateTask(anchor: block.anchor, calibration.layerPass(block: b, shard: $0, hidden: hiddenInput(b, $0), staged: staged))
        }
    }

    /// A PROPAGATE shard is in: CAPTURE of the next block on it, and whether the block has propagated every shard.
    func propagated(_ spec: LayerPassSpec, hidden: TaskOutputFile) -> (next: [TaskSpec], blockDone: Bool) {
        let b = spec.layer
        propagatedShards[b] += 1
        hiddenFiles[b + 1, default: [:]][spec.shard] = hidden
        let next = TaskSpec.captureTask(anchor: calibration.blocks[b + 1].anchor, calibration.layerPass(block: b + 1, shard: spec.shard, hidden: hidden))
        return ([next], propagatedShards[b] == calibration.shards.count)
    }

    private func hiddenInput(_ b: Int, _ s: Int) -> TaskOutputFile? { b == 0 ? nil : hiddenFiles[b]![s]! }

    private func tiles(_ i: Int, block b: Int, plan: JobPlan, analysis: AnalysisResult) -> [TaskSpec] {
        let input = hessianInput(i, block: b)
        return (0..<plan.tileCount(i)).map { .quantizeTask(i, tile: $0, plan.quantizeSpec(i, tile: $0, analysis: analysis, hessian: input)) }
    }

    /// Linear `i`'s H: its space's file from every CAPTURE shard of block `b`, in shard order.
    private func hessianInput(_ i: Int, block b: Int) -> HessianInput {
        let role = calibration.linear(i)!.role
        let space = HessianSpace(role: role)!
        let files = calibration.shards.indices.map { s in
            hessians[b]![s]!.first { $0.name == StagingNames.hessian(layer: calibration.blocks[b].layer, shard: s, space: space) }!
        }
        return calibration.hessianInput(role: role, shards: files)
    }
}
