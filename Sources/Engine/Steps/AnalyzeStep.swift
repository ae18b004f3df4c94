import COpenBLAS

/// ANALYZE one tensor: choose the rotation (seed search scored by measured error), score input-channel
/// importance, find correlated clusters and allocate the high-precision share. Reads the tensor tile by tile,
/// so memory is bounded by one tile plus O(columns) statistics, whatever the tensor's size.
public enum AnalyzeStep {
    public static func run(_ spec: AnalyzeSpec, source: TensorRowSource) throws -> AnalysisResult {
        let t = spec.tensor.entry
        let rows = t.rows, cols = t.columns
        // A tensor in one ggml type without rotation only reports its error here (QUANTIZE measures every row):
        // a few rows are enough, and reading 256 cost a sixth of a GGUF job's CPU time.
        let onlyMeasured = spec.policy.ggml != nil && !spec.rotation.enabled
        let sampleIndex = sampleRows(rows: rows, count: onlyMeasured ? ggmlSampleRows : max(spec.rotation.sampleRows, spec.clusters.sampleRows))
        var sample = [Float](repeating: 0, count: sampleIndex.count * cols)
        for (k, r) in sampleIndex.enumerated() {
            let row = try source.readRows(spec.tensor, start: r, count: 1)
            for c in 0..<cols { sample[k * cols + c] = row[c] }
        }
        let p = spec.policy
        // Seeds are scored with the low format (or the tensor's ggml type): it holds most of the weights and error.
        let lowPart = PartLayout(format: p.low, groupSize: p.lowGroupSize ?? p.low.defaultGroupSize, columns: cols,
                                 symmetric: p.symmetricLow ?? p.low.isSymmetric)
        let score = { (x: [Float]) -> Double in
            if let type = p.ggml { return ggmlRelativeError(x, cols: cols, type: type, reference: p.ggmlCodes == .reference) }
            return relativeError(x, rows: sampleIndex.count, part: lowPart)
        }
        if onlyMeasured {
            // One ggml type for the whole tensor leaves nothing to allocate: measure its error on the sample rows.
            return AnalysisResult(rotation: .identity(size: cols), seedTrials: [], unrotatedError: score(sample),
                                  highColumns: [], clusters: [], promotedColumns: 0, plannedHighFraction: 0, realisedHighFraction: 0)
        }
        let unrotatedError = score(sample)

        // The rotation: score each candidate sign seed by the low format's measured error on the sample rows.
        var descriptor = RotationDescriptor.identity(size: cols)
        var trials: [SeedTrial] = []
        if spec.rotation.enabled && RotationDescriptor.blockSize(for: cols) >= 2 {
            for k in 0..<max(1, spec.rotation.seedCandidates) {
                let d = RotationDescriptor(size: cols, seed: SeedDerivation.seed(for: spec.tensor.name, salt: UInt64(k)))
                var rotated = sample
                rotated.withUnsafeMutableBufferPointer { Rotation(d).rotateRows($0, rows: sampleIndex.count) }
                trials.append(SeedTrial(seed: d.seed, relativeError: score(rotated)))
            }
            let best = trials.enumerated().min { ($0.element.relativeError, $0.offset) < ($1.element.relativeError, $1.offset) }!
            descriptor = RotationDescriptor(size: cols, seed: best.element.seed)
        }
        let rotation = Rotation(descriptor)
        let invariants: RotationInvariants? = descriptor.kind == "none" ? nil :
            sample.withUnsafeBufferPointer { RotationInvariants.measure(rotation, sampleRows: $0, rows: sampleIndex.count) }
        sample.withUnsafeMutableBufferPointer { rotation.rotateRows($0, rows: sampleIndex.count) }

        // Importance per input column in the rotated basis: mean |w| over all rows, streamed tile by tile.
        var importance = [Double](repeating: 0, count: cols)
        var tile = [Float](repeating: 0, count: min(spec.tileRows, rows) * cols)
        var r0 = 0
        while r0 < rows {
            let n = min(spec.tileRows, rows - r0)
            try tile.withUnsafeMutableBufferPointer { p in
                let part = UnsafeMutableBufferPointer(rebasing: p[0..<n * cols])
                try source.readRows(spec.tensor, start: r0, count: n, into: part)
                rotation.rotateRows(part, rows: n)
            }
            for r in 0..<n {
                for c in 0..<cols { importance[c] += Double(abs(tile[r * cols + c])) }
            }
            r0 += n
        }

        let clusters = spec.clusters.enabled ? correlatedClusters(sample, rows: sampleIndex.count, cols: cols, threshold: spec.clusters.threshold) : []

        var highColumns: [Int] = []
        var threshold: Float? = nil
        var promoted = 0
        var realised = 0.0
        switch spec.granularity {
        case .channel:
            let k = Int((spec.policy.highFraction * Double(cols)).rounded())
            var order = (0..<cols).sorted { (importance[$0], -$0) > (importance[$1], -$1) }
            if spec.policy.allocation == "random" {
                var g = SplitMix64(seed: SeedDerivation.seed(for: spec.tensor.name, salt: 0xA110C))
                order.shuffle(using: &g)
            }
            var isHigh = [Bool](repeating: false, count: cols)
            for c in order.prefix(k) { isHigh[c] = true }
            for cl in clusters where cl.contains(where: { isHigh[$0] }) {
                for c in cl where !isHigh[c] { isHigh[c] = true; promoted += 1 }
            }
            highColumns = (0..<cols).filter { isHigh[$0] }
            realised = Double(highColumns.count) / Double(max(cols, 1))
        case .element:
            // The threshold is the (1 - f) quantile of |w| on the rotated sample rows.
            var mags = sample.map { abs($0) }
            mags.sort()
            let f = spec.policy.highFraction
            if f <= 0 || mags.isEmpty { threshold = .infinity; realised = 0 } else {
                let idx = min(mags.count - 1, max(0, Int((1 - f) * Double(mags.count))))
                threshold = mags[idx]
                realised = Double(mags.count - idx) / Double(mags.count)
            }
        }
        return AnalysisResult(rotation: descriptor, invariants: invariants, seedTrials: trials, unrotatedError: unrotatedError,
                              highColumns: highColumns, elementThreshold: threshold, clusters: clusters,
                              promotedColumns: promoted, plannedHighFraction: spec.policy.highFraction,
                              realisedHighFraction: realised)
    }

    static let ggmlSampleRows = 32

    /// Evenly spaced row indices: deterministic, and spread over the whole tensor.
    static func sampleRows(rows: Int, count: Int) -> [Int] {
        let n = min(rows, max(1, count))
        return (0..<n).map { $0 * rows / n }
    }

    static func relativeError(_ x: [Float], rows: Int, part: PartLayout) -> Double {
        let t = x.withUnsafeBufferPointer { GroupQuantizer.quantize($0, rows: rows, cols: part.columns, format: part.format, groupSize: part.groupSize, symmetric: part.symmetric, halfIsBF16: false) }
        let y = GroupQuantizer.dequantize(t)
        var e = 0.0, s = 0.0
        for i in 0..<x.count { let d = Double(x[i] - y[i]); e += d * d; s += Double(x[i]) * Double(x[i]) }
        return s > 0 ? (e / s).squareRoot() : 0
    }

    static func ggmlRelativeError(_ x: [Float], cols: Int, type: GGMLType, reference: Bool) -> Double {
        let rows = x.count / max(cols, 1)
        let t = x.withUnsafeBufferPointer { TileCodec.encodeGGML($0, rows: rows, cols: cols, type: type, reference: reference, importance: nil) }
        var y = [Float](repeating: 0, count: x.count)
        y.withUnsafeMutableBufferPointer { TileCodec.decodeGGML(t.bytes, rows: rows, cols: cols, type: type, into: $0) }
        var e = 0.0, s = 0.0
        for i in 0..<x.count { let d = Double(x[i] - y[i]); e += d * d; s += Double(x[i]) * Double(x[i]) }
        return s > 0 ? (e / s).squareRoot() : 0
    }

    /// Clusters of input columns whose |Pearson correlation| over the sample rows exceeds `threshold`
    /// (one GEMM per block of columns, union-find over the pairs). Column blocks bound memory at 2048^2 floats.
    static func correlatedClusters(_ x: [Float], rows: Int, cols: Int, threshold: Double) -> [[Int]] {
        guard rows >= 3, cols >= 2 else { return [] }
        // Standardise columns: zero mean, unit norm, so X^T X holds correlations. Column-major copy for BLAS.
        var z = [Float](repeating: 0, count: rows * cols)
        var constant = [Bool](repeating: false, count: cols)
        for c in 0..<cols {
            var mean = 0.0
            for r in 0..<rows { mean += Double(x[r * cols + c]) }
            mean /= Double(rows)
            var ss = 0.0
            for r in 0..<rows { let d = Double(x[r * cols + c]) - mean; ss += d * d }
            let inv = ss > 0 ? 1 / ss.squareRoot() : 0
            constant[c] = ss == 0
            for r in 0..<rows { z[c * rows + r] = Float((Double(x[r * cols + c]) - mean) * inv) }
        }
        var parent = Array(0..<cols)
        func find(_ a: Int) -> Int { var a = a; while parent[a] != a { parent[a] = parent[parent[a]]; a = parent[a] }; return a }
        let block = 2048
        var corr = [Float](repeating: 0, count: block * block)
        let thr = Float(threshold)
        for i0 in stride(from: 0, to: cols, by: block) {
            let ni = min(block, cols - i0)
            for j0 in stride(from: i0, to: cols, by: block) {
                let nj = min(block, cols - j0)
                z.withUnsafeBufferPointer { zp in
                    corr.withUnsafeMutableBufferPointer { cp in
                        // corr[a, b] = z[:, i0 + a] . z[:, j0 + b]   (column-major z with leading dimension rows)
                        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, Int32(ni), Int32(nj), Int32(rows), 1,
                                    zp.baseAddress! + i0 * rows, Int32(rows), zp.baseAddress! + j0 * rows, Int32(rows), 0,
                                    cp.baseAddress!, Int32(ni))
                    }
                }
                for b in 0..<nj {
                    for a in 0..<ni {
                        let ci = i0 + a, cj = j0 + b
                        guard cj > ci, !constant[ci], !constant[cj], abs(corr[b * ni + a]) > thr else { continue }
                        let ra = find(ci), rb = find(cj)
                        if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
                    }
                }
            }
        }
        var groups: [Int: [Int]] = [:]
        for c in 0..<cols { groups[find(c), default: []].append(c) }
        return groups.values.filter { $0.count >= 2 }.sorted { $0[0] < $1[0] }
    }
}
