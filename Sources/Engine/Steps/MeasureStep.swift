import COpenBLAS

/// MEASURE one tensor for the `auto` profile (as exllamav2's measurement pass): the relative error each
/// candidate policy gives on a sample of rows, and the exact bytes it would write for the whole tensor.
public struct CandidateMeasurement: Codable, Sendable, Equatable {
    public var policy: LevelPolicy
    public var bytes: Int
    public var relativeError: Double

    public init(policy: LevelPolicy, bytes: Int, relativeError: Double) {
        self.policy = policy; self.bytes = bytes; self.relativeError = relativeError
    }
}

public struct MeasureSpec: Codable, Sendable, Equatable {
    public var tensor: CheckpointTensor
    public var candidates: [LevelPolicy]
    public var rotation: Bool
    public var sampleRows: Int
    /// A calibrated auto job's block H: the candidates are rounded by GPTQ against it and scored by output error.
    public var hessian: HessianInput?

    public init(tensor: CheckpointTensor, candidates: [LevelPolicy], rotation: Bool, sampleRows: Int, hessian: HessianInput? = nil) {
        self.tensor = tensor; self.candidates = candidates; self.rotation = rotation; self.sampleRows = sampleRows; self.hessian = hessian
    }
}

public enum MeasureStep {
    /// `stagingFolder`: where a calibrated measure's H shards are read from.
    public static func run(_ spec: MeasureSpec, source: TensorRowSource, stagingFolder: String) throws -> [CandidateMeasurement] {
        if let hessian = spec.hessian { return try outputError(spec, hessian: hessian, source: source, stagingFolder: stagingFolder) }
        let rows = spec.tensor.entry.rows, cols = spec.tensor.entry.columns
        let (index, original) = try sample(spec, source: source)
        let descriptor = spec.rotation ? RotationDescriptor(size: cols, seed: SeedDerivation.seed(for: spec.tensor.name, salt: 0)) : .identity(size: cols)
        let rotation = Rotation(descriptor)
        var rotated = original
        rotated.withUnsafeMutableBufferPointer { rotation.rotateRows($0, rows: index.count) }
        var importance = [Double](repeating: 0, count: cols)
        for r in 0..<index.count { for c in 0..<cols { importance[c] += Double(abs(rotated[r * cols + c])) } }
        let order = (0..<cols).sorted { (importance[$0], -$0) > (importance[$1], -$1) }
        let energy = original.reduce(0.0) { $0 + Double($1) * Double($1) }

        return try spec.candidates.map { policy in
            let k = Int((policy.highFraction * Double(cols)).rounded())
            let analysis = AnalysisResult(rotation: descriptor, invariants: nil, seedTrials: [], unrotatedError: 0,
                                          highColumns: order.prefix(k).sorted(), elementThreshold: nil, clusters: [],
                                          promotedColumns: 0, plannedHighFraction: policy.highFraction,
                                          realisedHighFraction: Double(k) / Double(max(cols, 1)))
            let qspec = QuantizeSpec(tensor: spec.tensor, policy: policy, granularity: .channel, analysis: analysis, rowStart: 0, rowCount: index.count)
            let layout = QuantizedTensorLayout(spec: qspec)
            let arrays = rotated.withUnsafeBufferPointer { TileCodec.encode($0, rows: index.count, layout: layout, elementThreshold: nil, clusters: []) }
            var y = [Float](repeating: 0, count: rotated.count)
            try y.withUnsafeMutableBufferPointer { (p) throws(PackageError) in
                try TileCodec.decode(Dictionary(uniqueKeysWithValues: arrays.map { ($0.name, $0) }), rows: index.count, layout: layout, into: p,
                                     file: "sample rows encoded in memory", tensor: spec.tensor.name)
                rotation.unrotateRows(p, rows: index.count)
            }
            var residual = [Float](repeating: 0, count: y.count)
            for i in 0..<y.count { residual[i] = original[i] - y[i] }
            var err = residual.reduce(0.0) { $0 + Double($1) * Double($1) }
            if policy.compensationRank > 0 {
                // What a rank-r correction removes from the sample's residual: its r largest singular values.
                // residual is row-major S x cols = column-major cols x S.
                let s = LowRank.svd(residual, m: cols, n: index.count).s
                err -= s.prefix(policy.compensationRank).reduce(0.0) { $0 + Double($1) * Double($1) }
            }
            return CandidateMeasurement(policy: policy, bytes: bytes(policy, layout: layout, rows: rows),
                                        relativeError: energy > 0 ? (max(err, 0) / energy).squareRoot() : 0)
        }
    }

    /// Each candidate's sample rows rounded as its calibrated QUANTIZE tiles round them (CalibratedTile, against the
    /// block's H) and scored by what the layer's output loses over the calibration tokens: the relative error
    /// sqrt(Σ_r e_r H e_rᵀ / Σ_r w_r H w_rᵀ), where weight error alone misses which input columns carry signal.
    static func outputError(_ spec: MeasureSpec, hessian: HessianInput, source: TensorRowSource, stagingFolder: String) throws -> [CandidateMeasurement] {
        let rows = spec.tensor.entry.rows, cols = spec.tensor.entry.columns
        let (index, original) = try sample(spec, source: source)
        let h = try HessianCache.shared.hessian(hessian, columns: cols, stagingFolder: stagingFolder)
        let signal = quadraticForm(original, rows: index.count, cols: cols, h)
        return try spec.candidates.map { policy in
            let analysis = AnalysisResult(rotation: .identity(size: cols), invariants: nil, seedTrials: [], unrotatedError: 0,
                                          highColumns: [], elementThreshold: nil, clusters: [], promotedColumns: 0,
                                          plannedHighFraction: 0, realisedHighFraction: 0)
            let qspec = QuantizeSpec(tensor: spec.tensor, policy: policy, granularity: .channel, analysis: analysis, rowStart: 0,
                                     rowCount: index.count, hessian: hessian)
            let layout = QuantizedTensorLayout(spec: qspec)
            let arrays = try CalibratedTile.encode(original, rows: index.count, layout: layout, hessian: hessian, stagingFolder: stagingFolder)
            var y = [Float](repeating: 0, count: original.count)
            try y.withUnsafeMutableBufferPointer { (p) throws(PackageError) in
                try TileCodec.decode(Dictionary(uniqueKeysWithValues: arrays.map { ($0.name, $0) }), rows: index.count, layout: layout, into: p,
                                     file: "sample rows encoded in memory", tensor: spec.tensor.name)
            }
            for i in y.indices { y[i] = original[i] - y[i] }
            let noise = quadraticForm(y, rows: index.count, cols: cols, h)
            return CandidateMeasurement(policy: policy, bytes: bytes(policy, layout: layout, rows: rows),
                                        relativeError: signal > 0 ? (max(noise, 0) / signal).squareRoot() : 0)
        }
    }

    /// The sample rows' indices and their weights, row-major.
    static func sample(_ spec: MeasureSpec, source: TensorRowSource) throws -> (index: [Int], rows: [Float]) {
        let cols = spec.tensor.entry.columns
        let index = AnalyzeStep.sampleRows(rows: spec.tensor.entry.rows, count: spec.sampleRows)
        var original = [Float](repeating: 0, count: index.count * cols)
        for (k, r) in index.enumerated() {
            let row = try source.readRows(spec.tensor, start: r, count: 1)
            for c in 0..<cols { original[k * cols + c] = row[c] }
        }
        return (index, original)
    }

    /// Σ_r x_r H x_rᵀ over the rows of x (rows x cols, row-major), H symmetric cols x cols.
    static func quadraticForm(_ x: [Float], rows: Int, cols: Int, _ h: [Double]) -> Double {
        var total = 0.0
        var row = [Double](repeating: 0, count: cols), hx = [Double](repeating: 0, count: cols)
        for r in 0..<rows {
            for c in 0..<cols { row[c] = Double(x[r * cols + c]) }
            cblas_dsymv(CblasRowMajor, CblasUpper, Int32(cols), 1, h, Int32(cols), row, 1, 0, &hx, 1)
            for c in 0..<cols { total += row[c] * hx[c] }
        }
        return total
    }

    /// The bytes the package's arrays take for the whole tensor under this layout.
    static func bytes(_ p: LevelPolicy, layout: QuantizedTensorLayout, rows: Int) -> Int {
        if let type = layout.ggml { return rows * (type.rowBytes(columns: layout.columns) ?? 0) }
        func part(_ l: PartLayout?) -> Int {
            guard let l, l.columns > 0 else { return 0 }
            if l.format == .fp16 { return rows * l.columns * 2 }
            let groups = (l.columns + l.groupSize - 1) / l.groupSize
            return rows * (l.format.packedBytes(count: l.columns) + groups * 2 * (l.symmetric ? 1 : 2))
        }
        return part(layout.high) + part(layout.low) + 4 * layout.highColumns.count
            + 2 * p.compensationRank * (rows + layout.columns)
    }
}
