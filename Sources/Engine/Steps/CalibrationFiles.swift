import Foundation

/// The staged files of a calibrated job: a shard's activations X ("hidden", f32 [tokens, width]) and a shard's
/// second moments H ("hessian", f64 [n, n]), each a one-array safetensors container. Reads check the array's
/// dtype and shape against what the task expects and name the file.
public enum CalibrationFiles {
    public static func encodeHidden(_ x: [Float], tokens: Int, width: Int) -> [UInt8] {
        let bytes = x.withUnsafeBytes { Array($0) }
        return SafetensorsWriter.encode([NamedArray(name: "hidden", dtype: .f32, shape: [tokens, width], bytes: bytes)])
    }

    public static func encodeHessian(_ h: [Double], columns n: Int) -> [UInt8] {
        let bytes = h.withUnsafeBytes { Array($0) }
        return SafetensorsWriter.encode([NamedArray(name: "hessian", dtype: .f64, shape: [n, n], bytes: bytes)])
    }

    public static func readHidden(_ file: TaskOutputFile, tokens: Int, width: Int, stagingFolder: String) throws -> [Float] {
        let bytes = try array(file, name: "hidden", dtype: .f32, shape: [tokens, width], stagingFolder: stagingFolder)
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// The shards' H summed in the order given, so the sum's bytes never depend on which worker wrote which shard.
    public static func sumHessians(_ shards: [TaskOutputFile], columns n: Int, stagingFolder: String) throws -> [Double] {
        var sum = [Double](repeating: 0, count: n * n)
        for f in shards {
            let bytes = try array(f, name: "hessian", dtype: .f64, shape: [n, n], stagingFolder: stagingFolder)
            bytes.withUnsafeBytes { raw in
                let h = raw.bindMemory(to: Double.self)
                for i in 0..<(n * n) { sum[i] += h[i] }
            }
        }
        return sum
    }

    private static func array(_ file: TaskOutputFile, name: String, dtype: DType, shape: [Int], stagingFolder: String) throws -> [UInt8] {
        let path = stagingFolder + "/" + file.name
        let f = try SafetensorsFile(path: path)
        guard let e = f.entry(name), e.dtype == dtype, e.shape == shape else {
            throw PackageError.invalid(path: path, reason: "expected one \(dtype.rawValue) array '\(name)' of shape \(shape)")
        }
        return try f.rawBytes(e)
    }
}
