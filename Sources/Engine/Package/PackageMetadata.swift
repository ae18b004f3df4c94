/// uqcit_metadata.json: what the package is and what was measured on the run that wrote it. Written last,
/// so its presence marks a complete package. It holds no timings, so the same job gives the same bytes;
/// timings of a run are in .uqcit/run.json.
public struct PackageMetadata: Codable, Sendable, Equatable {
    public static let formatName = "uqcit-package/1"
    public var format: String
    public var uqcitVersion: String
    public var source: SourceInfo
    public var profile: ProfileInfo
    public var measured: Measured

    public struct SourceInfo: Codable, Sendable, Equatable {
        public var name: String
        public var modelType: String
        public var architectures: [String]
        public var parameters: Int
        public var bytes: Int
        public var fingerprint: String
        public var layers: String?
    

    public init(name: String, modelType: String, architectures: [String], parameters: Int, bytes: Int, fingerprint: String, layers: String? = nil) {
        self.name = name
        self.modelType = modelType
        self.architectures = architectures
        self.parameters = parameters
        self.bytes = bytes
        self.fingerprint = fingerprint
        self.layers = layers
    }
}

    public struct ProfileInfo: Codable, Sendable, Equatable {
        public var name: String
        public var sha256: String
        public var settings: Profile
    

    public init(name: String, sha256: String, settings: Profile) {
        self.name = name
        self.sha256 = sha256
        self.settings = settings
    }
}

    public struct LevelSummary: Codable, Sendable, Equatable {
        public var parameters: Int
        public var percentOfParameters: Double
        public var bytes: Int
        public var bitsPerWeight: Double
        public var meanSQNRdB: Double?
        public var relativeError: Double
        public var patterns: [String]
        public var plannedHighFraction: Double?
        public var realisedHighFraction: Double?
    

    public init(parameters: Int, percentOfParameters: Double, bytes: Int, bitsPerWeight: Double, meanSQNRdB: Double? = nil, relativeError: Double, patterns: [String], plannedHighFraction: Double? = nil, realisedHighFraction: Double? = nil) {
        self.parameters = parameters
        self.percentOfParameters = percentOfParameters
        self.bytes = bytes
        self.bitsPerWeight = bitsPerWeight
        self.meanSQNRdB = meanSQNRdB
        self.relativeError = relativeError
        self.patterns = patterns
        self.plannedHighFraction = plannedHighFraction
        self.realisedHighFraction = realisedHighFraction
    }
}

    public struct Measured: Codable, Sendable, Equatable {
        /// Bytes of every file under layers/ (arrays, headers, JSON) * 8 / all parameters.
        public var bitsPerWeightLayersFolder: Double
        /// Bytes of the stored arrays * 8 / parameters, over all tensors and over the quantized ones.
        public var bitsPerWeightArrays: Double
        public var bitsPerWeightQuantizedTensors: Double
        public var compressionRatioVsSource: Double
        public var layersFolderBytes: Int
        public var meanSQNRdB: Double?
        public var relativeErrorQuantized: Double
        public var tensors: Int
        public var quantizedTensors: Int
        public var levels: [String: LevelSummary]
    

    public init(bitsPerWeightLayersFolder: Double, bitsPerWeightArrays: Double, bitsPerWeightQuantizedTensors: Double, compressionRatioVsSource: Double, layersFolderBytes: Int, meanSQNRdB: Double? = nil, relativeErrorQuantized: Double, tensors: Int, quantizedTensors: Int, levels: [String: LevelSummary]) {
        self.bitsPerWeightLayersFolder = bitsPerWeightLayersFolder
        self.bitsPerWeightArrays = bitsPerWeightArrays
        self.bitsPerWeightQuantizedTensors = bitsPerWeightQuantizedTensors
        self.compressionRatioVsSource = compressionRatioVsSource
        self.layersFolderBytes = layersFolderBytes
        self.meanSQNRdB = meanSQNRdB
        self.relativeErrorQuantized = relativeErrorQuantized
        self.tensors = tensors
        self.quantizedTensors = quantizedTensors
        self.levels = levels
    }
}

    public static func summarise(_ reports: [TensorReport], layersFolderBytes: Int) -> Measured {
        let q = reports.filter { $0.pattern != nil }
        let params = reports.reduce(0) { $0 + $1.parameters }
        let qParams = q.reduce(0) { $0 + $1.parameters }
        let bytes = reports.reduce(0) { $0 + $1.bytes }
        let qBytes = q.reduce(0) { $0 + $1.bytes }
        let sq = q.compactMap(\.sqnrDB)
        var levels: [String: LevelSummary] = [:]
        for level in Set(reports.map(\.level)).sorted() {
            let r = reports.filter { $0.level == level }
            let p = r.reduce(0) { $0 + $1.parameters }
            let b = r.reduce(0) { $0 + $1.bytes }
            let s = r.compactMap(\.sqnrDB)
            let rq = r.filter { $0.pattern != nil }
            let rqParams = rq.reduce(0) { $0 + $1.parameters }
            levels[String(level)] = LevelSummary(
                parameters: p, percentOfParameters: 100 * Double(p) / Double(max(params, 1)), bytes: b,
                bitsPerWeight: Double(b * 8) / Double(max(p, 1)),
                meanSQNRdB: s.isEmpty ? nil : s.reduce(0, +) / Double(s.count),
                relativeError: weightedError(r), patterns: Array(Set(r.compactMap(\.pattern))).sorted(),
                plannedHighFraction: rq.isEmpty ? nil : rq.reduce(0) { $0 + ($1.plannedHighFraction ?? 0) * Double($1.parameters) } / Double(max(rqParams, 1)),
                realisedHighFraction: rq.isEmpty ? nil : rq.reduce(0) { $0 + ($1.realisedHighFraction ?? 0) * Double($1.parameters) } / Double(max(rqParams, 1)))
        }
        return Measured(bitsPerWeightLayersFolder: Double(layersFolderBytes * 8) / Double(max(params, 1)),
                        bitsPerWeightArrays: Double(bytes * 8) / Double(max(params, 1)),
                        bitsPerWeightQuantizedTensors: Double(qBytes * 8) / Double(max(qParams, 1)),
                        compressionRatioVsSource: 0, layersFolderBytes: layersFolderBytes,
                        meanSQNRdB: sq.isEmpty ? nil : sq.reduce(0, +) / Double(sq.count),
                        relativeErrorQuantized: weightedError(q), tensors: reports.count, quantizedTensors: q.count, levels: levels)
    }

    /// sqrt(sum of error energy / sum of signal energy), recovered from each tensor's relative error and size
    /// (energy weights use parameters as the proxy for signal energy).
    static func weightedError(_ r: [TensorReport]) -> Double {
        let n = r.reduce(0) { $0 + $1.parameters }
        guard n > 0 else { return 0 }
        return (r.reduce(0) { $0 + $1.relativeError * $1.relativeError * Double($1.parameters) } / Double(n)).squareRoot()
    }

    public init(format: String, uqcitVersion: String, source: SourceInfo, profile: ProfileInfo, measured: Measured) {
        self.format = format
        self.uqcitVersion = uqcitVersion
        self.source = source
        self.profile = profile
        self.measured = measured
    }
}
