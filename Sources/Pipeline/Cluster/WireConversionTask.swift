import Engine
import UQCITProtocol

/// TaskSpec <-> TaskAssignment: one typed message per task kind.
extension Uqcit_V2_TaskAssignment {
    init(_ t: TaskSpec, attempt: Int) {
        self.init()
        taskID = t.id
        self.attempt = UInt32(attempt)
        tensorIndex = UInt64(t.tensorIndex)
        switch t.kind {
        case .analyze:
            let s = t.analyze!
            task = .analyze(.with {
                $0.tensor = .init(s.tensor); $0.policy = .init(s.policy); $0.granularity = .init(s.granularity)
                $0.rotation = .init(s.rotation); $0.clusters = .init(s.clusters); $0.tileRows = UInt64(s.tileRows)
            })
        case .quantize:
            let s = t.quantize!
            task = .quantize(.with {
                $0.tensor = .init(s.tensor); $0.policy = .init(s.policy); $0.granularity = .init(s.granularity)
                $0.analysis = .init(s.analysis); $0.tile = UInt64(t.tile!)
                $0.rowStart = UInt64(s.rowStart); $0.rowCount = UInt64(s.rowCount)
                $0.columnImportance = s.columnImportance ?? []
                if let h = s.hessian { $0.hessian = .init(h) }
            })
        case .compensate:
            let s = t.compensate!
            task = .compensate(.with {
                $0.tensor = .init(s.tensor); $0.rank = UInt64(s.rank); $0.tileRows = UInt64(s.tileRows); $0.layout = .init(s.layout)
            })
        case .measure:
            let s = t.measure!
            task = .measure(.with {
                $0.tensor = .init(s.tensor); $0.candidates = s.candidates.map(Uqcit_V2_LevelPolicy.init)
                $0.rotation = s.rotation; $0.sampleRows = UInt64(s.sampleRows)
                if let h = s.hessian { $0.hessian = .init(h) }
            })
        case .capture:
            task = .capture(.init(t.layerPass!))
        case .propagate:
            task = .propagate(.init(t.layerPass!))
        }
    }
}

extension TaskSpec {
    public init(wire a: Uqcit_V2_TaskAssignment) throws(WireFormatError) {
        let id = try WireField.nonEmpty(a.taskID, "TaskAssignment.task_id")
        let index = try WireField.int(a.tensorIndex, "TaskAssignment.tensor_index")
        switch a.task {
        case .analyze(let w):
            let f = "TaskAssignment.analyze"
            self = .analyzeTask(index, AnalyzeSpec(
                tensor: try Self.tensor(w.hasTensor, w.tensor, f),
                policy: try LevelPolicy(wire: WireField.required(w.hasPolicy, w.policy, f + ".policy"), field: f + ".policy"),
                granularity: try Granularity(wire: w.granularity, field: f + ".granularity"),
                rotation: try RotationSettings(wire: WireField.required(w.hasRotation, w.rotation, f + ".rotation"), field: f + ".rotation"),
                clusters: try ClusterSettings(wire: WireField.required(w.hasClusters, w.clusters, f + ".clusters"), field: f + ".clusters"),
                tileRows: try Self.positive(w.tileRows, f + ".tile_rows")))
        case .quantize(let w):
            let f = "TaskAssignment.quantize"
            var spec = QuantizeSpec(
                tensor: try Self.tensor(w.hasTensor, w.tensor, f),
                policy: try LevelPolicy(wire: WireField.required(w.hasPolicy, w.policy, f + ".policy"), field: f + ".policy"),
                granularity: try Granularity(wire: w.granularity, field: f + ".granularity"),
                analysis: try AnalysisResult(wire: WireField.required(w.hasAnalysis, w.analysis, f + ".analysis"), field: f + ".analysis"),
                rowStart: try WireField.int(w.rowStart, f + ".row_start"),
                rowCount: try Self.positive(w.rowCount, f + ".row_count"),
                hessian: w.hasHessian ? try HessianInput(wire: w.hessian, field: f + ".hessian") : nil)
            spec.columnImportance = try Self.columnImportance(w.columnImportance, for: spec, f + ".column_importance")
            self = .quantizeTask(index, tile: try WireField.int(w.tile, f + ".tile"), spec)
        case .compensate(let w):
            let f = "TaskAssignment.compensate"
            self = .compensateTask(index, CompensateSpec(
                tensor: try Self.tensor(w.hasTensor, w.tensor, f),
                rank: try WireField.int(w.rank, f + ".rank"),
                tileRows: try Self.positive(w.tileRows, f + ".tile_rows"),
                layout: try QuantizedTensorLayout(wire: WireField.required(w.hasLayout, w.layout, f + ".layout"), field: f + ".layout")))
        case .measure(let w):
            let f = "TaskAssignment.measure"
            guard !w.candidates.isEmpty else { throw WireFormatError(f + ".candidates", "missing") }
            var candidates: [LevelPolicy] = []
            for (k, c) in w.candidates.enumerated() { candidates.append(try LevelPolicy(wire: c, field: "\(f).candidates[\(k)]")) }
            let hessian = w.hasHessian ? try HessianInput(wire: w.hessian, field: f + ".hessian") : nil
            if hessian != nil, w.rotation { throw WireFormatError(f + ".rotation", "a measure against H takes unrotated rows") }
            self = .measureTask(index, MeasureSpec(tensor: try Self.tensor(w.hasTensor, w.tensor, f), candidates: candidates,
                                                   rotation: w.rotation, sampleRows: try WireField.int(w.sampleRows, f + ".sample_rows"),
                                                   hessian: hessian))
        case .capture(let w):
            self = .captureTask(anchor: index, try LayerPassSpec(wire: w, field: "TaskAssignment.capture"))
        case .propagate(let w):
            self = .propagateTask(anchor: index, try LayerPassSpec(wire: w, field: "TaskAssignment.propagate"))
        case nil:
            throw WireFormatError("TaskAssignment.task", "missing: one of analyze, quantize, compensate, measure, capture, propagate is required")
        }
        self.id = id
    }

    private static func tensor(_ present: Bool, _ w: Uqcit_V2_TensorRef, _ task: String) throws(WireFormatError) -> CheckpointTensor {
        try CheckpointTensor(wire: WireField.required(present, w, task + ".tensor"), field: task + ".tensor")
    }

    /// Empty, or one finite weight >= 0 per column of a tensor with a ggml policy.
    private static func columnImportance(_ weights: [Float], for spec: QuantizeSpec, _ field: String) throws(WireFormatError) -> [Float]? {
        guard !weights.isEmpty else { return nil }
        guard spec.policy.ggml != nil else { throw WireFormatError(field, "given for a policy that is not a ggml type") }
        guard weights.count == spec.tensor.entry.columns else {
            throw WireFormatError(field, "\(weights.count) weights for a tensor of \(spec.tensor.entry.columns) columns")
        }
        if let bad = weights.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw WireFormatError(field, "weight \(bad) is \(weights[bad]), not finite and >= 0")
        }
        return weights
    }

    private static func positive(_ v: UInt64, _ field: String) throws(WireFormatError) -> Int {
        guard v >= 1 else { throw WireFormatError(field, "0, must be at least 1") }
        return try WireField.int(v, field)
    }
}
