import ArgumentParser
import Foundation
import Engine
import Coordinator

func stderr(_ s: String) {
    FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
}

/// Errors from the engine already name the file, tensor or peer: print them plainly and exit non-zero,
/// instead of ArgumentParser's usage dump.
func withCleanExit(_ body: () throws -> Void) throws {
    do { try body() } catch let e as CleanExit { throw e } catch let e as ExitCode { throw e } catch let e as ValidationError {
        // A bad combination of options found while running: the message says which; a usage dump would not.
        stderr("error: \(e.message)")
        throw ExitCode.validationFailure
    } catch {
        stderr("error: \(error)")
        throw ExitCode(1)
    }
}

enum LayerRange {
    static func parse(_ s: String) throws -> ClosedRange<Int> {
        let parts = s.components(separatedBy: "..")
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, a <= b else {
            throw ValidationError("--layers takes A..B with 0 <= A <= B, got '\(s)'")
        }
        return a...b
    }
}

enum DemoModel {
    static func locate() throws -> String {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["UQCIT_DEMO_MODEL"] { candidates.append(env) }
        candidates += ["../shared/models/tiny-llama-bytes", "out/demo-model/all-MiniLM-L6-v2"]
        for c in candidates where FileManager.default.fileExists(atPath: c + "/config.json") { return c }
        throw ValidationError("no --model given and no demo model found (looked in \(candidates.joined(separator: ", "))); run `make demo-model` or pass --model DIR")
    }
}

enum Summary {
    static func text(_ s: JobSummary) -> String {
        let m = s.metadata.measured
        var lines = [s.alreadyComplete ? "package \(s.package) was already complete" : "package written to \(s.package)"]
        lines.append(String(format: "  bits per weight: %.3f (layers/ folder over all %@ parameters), %.3f over quantized tensors",
                            m.bitsPerWeightLayersFolder, ProgressReporter.count(s.metadata.source.parameters), m.bitsPerWeightQuantizedTensors))
        lines.append(String(format: "  compression vs source: %.2fx; mean SQNR %@ dB; relative error (quantized) %.4f",
                            m.compressionRatioVsSource, m.meanSQNRdB.map { String(format: "%.2f", $0) } ?? "n/a", m.relativeErrorQuantized))
        for (level, l) in m.levels.sorted(by: { $0.key < $1.key }) {
            lines.append(String(format: "  level %@: %5.1f%% of params  %6.3f bpw  SQNR %@ dB  patterns %@",
                                level, l.percentOfParameters, l.bitsPerWeight, l.meanSQNRdB.map { String(format: "%6.2f", $0) } ?? "   n/a",
                                l.patterns.joined(separator: ",")))
        }
        if !s.alreadyComplete { lines.append(String(format: "  time: %.1f s", s.seconds)) }
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// Left-aligned in a column of `width` characters (String(format:) does not pad %@ on Linux).
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
