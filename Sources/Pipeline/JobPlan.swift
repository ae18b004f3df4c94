import Engine

/// The plan of a job, made from headers alone: every tensor's assignment and its row tiling.
public struct JobPlan: Codable, Sendable {
    public var sourceFolder: String
    public var sourceFingerprint: String
    public var profile: Profile
    public var config: [UInt8]
    public var assignments: [TensorAssignment]
    public var tileRows: [Int]          // per tensor
    /// Per quantized tensor (HF name), the mean square activation of each input column from an importance
    /// matrix (`--imatrix`): the ggml searches weight their fits with it. Empty without one.
    public var columnImportance: [String: [Float]] = [:]
    /// Calibrated profiles: the layer pipeline (CAPTURE, calibrated QUANTIZE, PROPAGATE per block).
    public var calibration: CalibrationPlan?

    public init(checkpoint: Checkpoint, profile: Profile, layers: ClosedRange<Int>? = nil) throws {
        try self.init(source: checkpoint, profile: profile, layers: layers)
    }

    /// `calibration`: the tokenized `--calibration` text and its file name, required by a calibrated profile.
    public init(source: ModelSource, profile: Profile, layers: ClosedRange<Int>? = nil, importance: ImportanceMatrix? = nil,
                calibration: (tokens: [Int], file: String)? = nil) throws {
        let classifier = try LayerClassifier(profile: profile, config: source.config)
        sourceFolder = source.location
        sourceFingerprint = source.fingerprint()
        self.profile = profile
        config = source.configBytes
        var list = source.tensors.map(classifier.classify)
        // A GGUF profile, a mix or auto over ggml types, takes --calibration as llama-quantize takes --imatrix, and
        // then rounds its blocks by GPTQ; without it, its blocks are searched data-free.
        let overGGMLTypes = profile.ggufMix != nil || profile.candidates?.allSatisfy { $0.ggml != nil } == true
        let calibrationSettings = profile.calibration ?? (overGGMLTypes && calibration != nil ? CalibrationSettings.ggufDefault : nil)
        if let importance, calibration != nil {
            throw JobError.invalid("--imatrix \(importance.path) and --calibration both weight the searches: give one")
        }
        if let mix = profile.ggufMix {
            // GGUF profiles: llama-quantize's type for each tensor, chosen over the whole model (its rules count
            // layers); its float types keep the tensor as stored.
            let types = try GGUFMixPlan.types(mix: mix, config: source.config, tensors: list.map(\.tensor), source: source.location,
                                              hasImportanceMatrix: importance != nil || calibrationSettings != nil)
            for i in list.indices where list[i].tensor.entry.shape.count >= 2 {
                // A tensor the file leaves out (a BERT's pooler) has no type and stays as stored.
                list[i].policy = types[list[i].name].flatMap { $0.isQuantized ? .ggml($0, codes: profile.ggmlCodes) : nil }
            }
        }
        // A tensor with no elements has no tiles, so its QUANTIZE tasks would never finish it: it is stored as is.
        for i in list.indices where list[i].isQuantized && list[i].tensor.entry.elementCount == 0 { list[i].policy = nil }
        if let layers {
            list = list.filter { a in
                guard a.folder.hasPrefix("layer_"), let n = Int(a.folder.dropFirst(6)) else { return false }
                return layers.contains(n)
            }
        }
        // A ggml candidate whose blocks do not tile a tensor's rows is offered as llama-quantize's fall-back for them
        // (candidates(for:)); a row that not even a 32-weight block tiles is refused by tensor.
        for a in list where a.isQuantized {
            for p in Self.candidates(profile.candidates ?? [], columns: a.tensor.entry.columns) where !Self.keepsFixedGGMLType(profile, role: a.role) {
                if let type = p.ggml, type.rowBytes(columns: a.tensor.entry.columns) == nil {
                    throw JobError.invalid("tensor '\(a.name)': candidate \(p.pattern) needs rows of whole \(type.blockElements)-weight blocks; it has \(a.tensor.entry.columns) columns")
                }
            }
        }
        for a in list where a.isQuantized && !a.tensor.entry.dtype.isSupportedFloat {
            throw CheckpointError.unsupportedDType(file: source.location + "/" + a.tensor.shard, tensor: a.tensor.name, dtype: a.tensor.entry.dtype.rawValue)
        }
        if let importance {
            guard profile.ggufMix != nil else {
                throw JobError.invalid("an importance matrix (\(importance.path)) weights the ggml searches: it needs a GGUF profile (gguf-*), not \(profile.name)")
            }
            let names = GGUFLlamaNames(try LlamaHyperParameters(config: source.config, file: source.location))
            columnImportance = try importance.columnImportance(
                hfNames: list.filter(\.isQuantized).map { ($0.name, $0.tensor.entry.columns) }, names: names)
        }
        assignments = list
        tileRows = list.map { Self.tileRows(columns: $0.tensor.entry.columns, rows: $0.tensor.entry.rows, tileElements: profile.tileElements) }
        switch (calibrationSettings, calibration) {
        case (nil, nil):
            self.calibration = nil
        case (nil, .some):
            throw JobError.invalid("--calibration applies to a calibrated profile (gptq-*, importance-*) or a GGUF profile (gguf-*), not to \(profile.name)")
        case (.some, nil):
            throw JobError.invalid("profile \(profile.name) is calibrated: give it text with --calibration FILE")
        case let (settings?, text?):
            guard layers == nil else { throw JobError.invalid("a calibrated profile runs every block in order: --layers does not apply") }
            guard !profile.rotation.enabled, profile.granularity == .channel else {
                throw JobError.invalid("profile \(profile.name): GPTQ rounds unrotated weights with channel granularity")
            }
            let calibration = try CalibrationPlan(settings: settings, tokens: text.tokens, source: source, assignments: list, file: text.file,
                                                  candidates: profile.overrides == nil ? profile.candidates : nil)
            if profile.candidates != nil, let outside = list.indices.first(where: {
                list[$0].isQuantized && calibration.linear($0) == nil && !Self.keepsFixedGGMLType(profile, role: list[$0].role)
            }) {
                throw JobError.invalid("tensor '\(list[outside].name)': a calibrated auto profile chooses formats for the block linears only; keep the others at source precision")
            }
            self.calibration = calibration
        }
    }

    /// Rows per tile: as many as fit in `tileElements` floats, at least one.
    public static func tileRows(columns: Int, rows: Int, tileElements: Int) -> Int {
        max(1, min(rows, tileElements / max(columns, 1)))
    }

    public func tileCount(_ i: Int) -> Int {
        let rows = assignments[i].tensor.entry.rows
        return (rows + tileRows[i] - 1) / tileRows[i]
    }

    /// Every task the job runs: per quantized tensor one ANALYZE, one QUANTIZE per tile, and a COMPENSATE when
    /// its level asks for a low-rank residual; with a profile that allocates bits (auto), also one MEASURE per
    /// quantized tensor first, and the COMPENSATE count is the one planned before the allocation.
    public var taskCount: Int {
        assignments.indices.reduce(calibration?.layerPassCount ?? 0) { n, i in
            guard let p = assignments[i].policy else { return n }
            let measured = needsAllocation && !(calibration != nil && hasFixedGGMLType(i))
            return n + 1 + tileCount(i) + (p.compensationRank > 0 ? 1 : 0) + (measured ? 1 : 0)
        }
    }

    /// The profile chooses each tensor's policy from measurements (auto) and has not chosen yet: the job begins
    /// with MEASURE tasks, and ANALYZE waits for the allocation. (A calibrated auto job allocates block by block
    /// instead, as each block's H comes in: see `awaitsAllocation`.)
    public var needsAllocation: Bool { profile.candidates != nil && profile.overrides == nil }

    /// Tensor `i`'s policy is still to be chosen by the allocation.
    public func awaitsAllocation(_ i: Int) -> Bool { profile.candidates != nil && profile.overrides?[assignments[i].name] == nil }

    /// `hessian`: a calibrated auto job's H for the tensor's block (candidates scored by output error through it).
    public func measureSpec(_ i: Int, hessian: HessianInput? = nil) -> MeasureSpec {
        MeasureSpec(tensor: assignments[i].tensor, candidates: candidates(for: i), rotation: profile.rotation.enabled,
                    sampleRows: profile.rotation.sampleRows, hessian: hessian)
    }

    /// The profile's candidates as tensor `i` can take them (an auto profile's menu for it); a tensor of a
    /// keep_source role under keep_source_ggml has its fixed type as its only one.
    public func candidates(for i: Int) -> [LevelPolicy] {
        if hasFixedGGMLType(i), let fixed = assignments[i].policy { return [fixed] }
        return Self.candidates(profile.candidates ?? [], columns: assignments[i].tensor.entry.columns)
    }

    /// Tensor `i` is stored in the profile's keep_source_ggml type, outside the choice of types.
    public func hasFixedGGMLType(_ i: Int) -> Bool {
        Self.keepsFixedGGMLType(profile, role: assignments[i].role) && assignments[i].isQuantized
    }

    static func keepsFixedGGMLType(_ profile: Profile, role: String) -> Bool {
        profile.keepSourceGGML != nil && profile.keepSource.contains(role)
    }

    /// A ggml candidate whose blocks do not tile `columns` becomes the type llama-quantize falls back to for such
    /// rows (Q2_K and Q3_K to Q4_0, Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0: SmolLM2's 576-wide rows), each type
    /// offered once; the others are kept as they are.
    static func candidates(_ profileCandidates: [LevelPolicy], columns: Int) -> [LevelPolicy] {
        var menu: [LevelPolicy] = []
        for p in profileCandidates {
            var c = p
            if let type = p.ggml, type.rowBytes(columns: columns) == nil {
                let fallback = GGUFMixSelection.fallback(type, rowLength: columns)
                if fallback.isQuantized {
                    c = .ggml(fallback, codes: p.ggmlCodes)
                }
            }
            if !menu.contains(c) { menu.append(c) }
        }
        return menu
    }

    /// The plan with the allocation's per-tensor policies in place (and recorded in its profile, added to any
    /// made before: a calibrated auto job allocates a block at a time).
    public func applying(_ overrides: [String: LevelPolicy]) -> JobPlan {
        var p = self
        p.profile.overrides = (profile.overrides ?? [:]).merging(overrides) { $1 }
        for i in p.assignments.indices {
            if let o = overrides[p.assignments[i].name] { p.assignments[i].policy = o }
        }
        return p
    }

    /// Package folders in order: embeddings, layer_000 ..., head.
    public var folders: [String] {
        var seen = Set<String>()
        var out: [String] = []
        for a in assignments where seen.insert(a.folder).inserted { out.append(a.folder) }
        return out.sorted { Self.folderRank($0) < Self.folderRank($1) }
    }

    static func folderRank(_ f: String) -> (Int, Int) {
        if f == "embeddings" { return (0, 0) }
        if f.hasPrefix("layer_"), let n = Int(f.dropFirst(6)) { return (1, n) }
        return (2, 0)
    }

    public var quantizedParameters: Int { assignments.filter(\.isQuantized).reduce(0) { $0 + $1.tensor.entry.elementCount } }
    public var totalParameters: Int { assignments.reduce(0) { $0 + $1.tensor.entry.elementCount } }

    public func analyzeSpec(_ i: Int) -> AnalyzeSpec {
        let a = assignments[i]
        return AnalyzeSpec(tensor: a.tensor, policy: a.policy!, granularity: profile.granularity,
                           rotation: profile.rotation, clusters: profile.clusters, tileRows: tileRows[i])
    }

    /// `hessian`: a calibrated linear's H input (GPTQ); nil rounds to nearest.
    public func quantizeSpec(_ i: Int, tile: Int, analysis: AnalysisResult, hessian: HessianInput? = nil) -> QuantizeSpec {
        let a = assignments[i]
        let start = tile * tileRows[i]
        return QuantizeSpec(tensor: a.tensor, policy: a.policy!, granularity: profile.granularity, analysis: analysis,
                            rowStart: start, rowCount: min(tileRows[i], a.tensor.entry.rows - start),
                            columnImportance: columnImportance[a.name], hessian: hessian)
    }

    public func layout(_ i: Int, analysis: AnalysisResult) -> QuantizedTensorLayout {
        QuantizedTensorLayout(spec: quantizeSpec(i, tile: 0, analysis: analysis))
    }
}
