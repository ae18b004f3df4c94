import Foundation

/// How one tensor is stored in a folder's weights.quant. Array names are `<tensor>#<part>` for quantized
/// tensors ('#' cannot occur in a tensor name) and the plain tensor name for tensors kept as stored.
public struct StoredTensor: Codable, Sendable, Equatable {
    public var name: String
    public var role: String
    public var level: Int
    public var pattern: String?
    public var shape: [Int]
    public var sourceDType: DType
    /// nil: kept at source precision under its own name. Otherwise the layout; its highColumns live in the
    /// `#columns` array, not here.
    public var layout: QuantizedTensorLayout?
    public var arrays: [String]
    public var bytes: Int

    public var parameters: Int { shape.reduce(1, *) }
    public var bitsPerWeight: Double { Double(bytes * 8) / Double(max(parameters, 1)) }

    public init(name: String, role: String, level: Int, pattern: String? = nil, shape: [Int], sourceDType: DType, layout: QuantizedTensorLayout? = nil, arrays: [String], bytes: Int) {
        self.name = name
        self.role = role
        self.level = level
        self.pattern = pattern
        self.shape = shape
        self.sourceDType = sourceDType
        self.layout = layout
        self.arrays = arrays
        self.bytes = bytes
    }
}

public struct WeightsQuantMetadata: Codable, Sendable, Equatable {
    public static let formatName = "uqcit-weights/1"
    public var format: String
    public var tensors: [StoredTensor]
    public static let headerKey = "uqcit"

    public init(format: String, tensors: [StoredTensor]) {
        self.format = format
        self.tensors = tensors
    }
}

/// Per-tensor measurements, written to validation/tensors.json and summarised in uqcit_metadata.json.
public struct TensorReport: Codable, Sendable, Equatable {
    public var name: String
    public var folder: String
    public var role: String
    public var level: Int
    public var pattern: String?
    public var parameters: Int
    public var bytes: Int
    public var bitsPerWeight: Double
    public var relativeError: Double
    public var sqnrDB: Double?
    public var maxAbsError: Double
    public var plannedHighFraction: Double?
    public var realisedHighFraction: Double?
    public var clusters: Int?
    public var compensationRank: Int?
    public var relativeErrorBeforeCompensation: Double?

    public init(name: String, folder: String, role: String, level: Int, pattern: String? = nil, parameters: Int, bytes: Int, bitsPerWeight: Double, relativeError: Double, sqnrDB: Double? = nil, maxAbsError: Double, plannedHighFraction: Double? = nil, realisedHighFraction: Double? = nil, clusters: Int? = nil, compensationRank: Int? = nil, relativeErrorBeforeCompensation: Double? = nil) {
        self.name = name
        self.folder = folder
        self.role = role
        self.level = level
        self.pattern = pattern
        self.parameters = parameters
        self.bytes = bytes
        self.bitsPerWeight = bitsPerWeight
        self.relativeError = relativeError
        self.sqnrDB = sqnrDB
        self.maxAbsError = maxAbsError
        self.plannedHighFraction = plannedHighFraction
        self.realisedHighFraction = realisedHighFraction
        self.clusters = clusters
        self.compensationRank = compensationRank
        self.relativeErrorBeforeCompensation = relativeErrorBeforeCompensation
    }
}

/// Coding conventions for every JSON file of a package: sorted keys and stable number formatting, so that the
/// same job always writes the same bytes.
public enum PackageJSON {
    /// `compact`: no indentation, for JSON embedded in a container header, where every byte counts as bits.
    public static func encode<T: Encodable>(_ value: T, compact: Bool = false) throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = compact ? [.sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return Array(try e.encode(value)) + (compact ? [] : [0x0A])
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try d.decode(type, from: Data(bytes))
    }
}
