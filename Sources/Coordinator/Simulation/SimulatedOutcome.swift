import Engine
import Pipeline

/// The result a simulated worker reports for a task: every field `ResultValidator.check` looks at is well formed
/// for the leased spec, and the output files are accounted (name, modelled size, a digest derived from the task)
/// but never written. A function of the task alone, so a backup run of a task reports identical bytes.
enum SimulatedOutcome {
    static func make(_ task: TaskSpec, seconds: Double) -> TaskOutcome {
        var o = TaskOutcome(taskId: task.id, outputs: [], seconds: seconds)
        switch task.kind {
        case .analyze:
            guard let s = task.analyze else { break }
            o.analysis = analysis(s)
        case .quantize:
            guard let s = task.quantize else { break }
            let elements = s.rowCount * s.tensor.entry.columns
            let high = s.policy.ggml == nil ? Int(Double(elements) * s.policy.highFraction) : 0
            o.tile = TileResult(sourceSumSquares: Double(elements), errorSumSquares: Double(elements) * 1e-4, maxAbsError: 0.01,
                                highElements: high, elements: elements)
            o.outputs = [file(task, StagingNames.tile(task.tensorIndex, task.tile ?? 0), bytes: modelledBytes(elements, s.policy))]
        case .compensate:
            guard let s = task.compensate else { break }
            let e = s.tensor.entry
            let rank = min(s.rank, e.rows, e.columns)
            o.compensation = CompensationResult(rank: rank, sourceSumSquares: 1, errorSumSquaresBefore: 1e-2, errorSumSquaresAfter: 5e-3)
            // Two fp16 factors, rows x rank and rank x columns.
            o.outputs = [file(task, StagingNames.lowRank(task.tensorIndex), bytes: rank * (e.rows + e.columns) * 2 + headerBytes)]
        case .capture, .propagate:
            // Calibrated plans need calibration text, which `SimulatedJob` does not give: never leased here.
            break
        case .measure:
            guard let s = task.measure else { break }
            o.measurements = s.candidates.map { p in
                CandidateMeasurement(policy: p, bytes: modelledBytes(s.tensor.entry.elementCount, p), relativeError: 1 / bits(p))
            }
        }
        return o
    }

    /// A safetensors header's worth of bytes on top of the arrays.
    static let headerBytes = 256

    /// Bytes of a tile of `elements` under `policy`: high and low codes at their bit widths plus one fp16 scale per group.
    static func modelledBytes(_ elements: Int, _ policy: LevelPolicy) -> Int {
        let group = policy.ggml == nil ? policy.lowGroupSize ?? policy.low.defaultGroupSize : 0
        let groups = group > 0 ? 16 / Double(group) : 0
        return Int((Double(elements) * (bits(policy) + groups) / 8).rounded(.up)) + headerBytes
    }

    static func bits(_ p: LevelPolicy) -> Double {
        if let t = p.ggml { return t.bitsPerWeight }
        return p.highFraction * Double(p.high.bits) + (1 - p.highFraction) * Double(p.low.bits)
    }

    static func analysis(_ s: AnalyzeSpec) -> AnalysisResult {
        let columns = s.tensor.entry.columns
        let planned = s.granularity == .channel ? Int((s.policy.highFraction * Double(columns)).rounded()) : 0
        return AnalysisResult(rotation: .identity(size: columns), seedTrials: [], unrotatedError: 1e-2,
                              highColumns: Array(0..<min(planned, columns)), clusters: [], promotedColumns: 0,
                              plannedHighFraction: s.policy.highFraction, realisedHighFraction: s.policy.highFraction)
    }

    static func file(_ task: TaskSpec, _ name: String, bytes: Int) -> TaskOutputFile {
        TaskOutputFile(name: name, size: bytes, sha256: Digest.sha256Hex(Array("simulated|\(task.id)|\(name)|\(bytes)".utf8)))
    }
}
