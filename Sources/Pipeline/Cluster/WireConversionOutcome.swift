import Foundation
import Engine
import UQCITProtocol

/// TaskOutcome <-> TaskResult: the output files with binary digests, and one typed result per task kind.
extension Uqcit_V2_TaskResult {
    init(_ o: TaskOutcome, attempt: UInt32) {
        self.init()
        taskID = o.taskId
        self.attempt = attempt
        outputs = o.outputs.map { f in .with { $0.name = f.name; $0.size = UInt64(f.size); $0.sha256 = Data(Self.bytes(hex: f.sha256)) } }
        seconds = o.seconds
        if let a = o.analysis {
            result = .analysis(.init(a))
        } else if let t = o.tile {
            result = .tile(.with {
                $0.sourceSumSquares = t.sourceSumSquares; $0.errorSumSquares = t.errorSumSquares; $0.maxAbsError = t.maxAbsError
                $0.highElements = UInt64(t.highElements); $0.elements = UInt64(t.elements)
            })
        } else if let c = o.compensation {
            result = .compensation(.with {
                $0.rank = UInt64(c.rank); $0.sourceSumSquares = c.sourceSumSquares
                $0.errorSumSquaresBefore = c.errorSumSquaresBefore; $0.errorSumSquaresAfter = c.errorSumSquaresAfter
            })
        } else if let m = o.measurements {
            result = .measurement(.with {
                $0.candidates = m.map { x in .with { $0.policy = .init(x.policy); $0.bytes = UInt64(x.bytes); $0.relativeError = x.relativeError } }
            })
        }
    }

    /// Our own digests are 64 hex digits (Digest.hex); anything else is the validator's to refuse, not ours to send.
    private static func bytes(hex: String) -> [UInt8] {
        let u = Array(hex.utf8)
        func v(_ c: UInt8) -> UInt8 { c >= 97 ? c - 87 : c >= 65 ? c - 55 : c - 48 }
        return stride(from: 0, to: u.count - 1, by: 2).map { v(u[$0]) << 4 | v(u[$0 + 1]) }
    }
}

extension TaskOutcome {
    /// The outcome as the worker reported it; whether it fits the leased task is ResultValidator's question.
    public init(wire r: Uqcit_V2_TaskResult) throws(WireFormatError) {
        var outputs: [TaskOutputFile] = []
        for (k, f) in r.outputs.enumerated() {
            let field = "TaskResult.outputs[\(k)]"
            guard f.sha256.count == 32 else { throw WireFormatError(field + ".sha256", "\(f.sha256.count) bytes, a SHA-256 is 32") }
            outputs.append(TaskOutputFile(name: try WireField.nonEmpty(f.name, field + ".name"), size: try WireField.int(f.size, field + ".size"),
                                          sha256: Digest.hex(Array(f.sha256))))
        }
        self.init(taskId: try WireField.nonEmpty(r.taskID, "TaskResult.task_id"), outputs: outputs, seconds: r.seconds)
        switch r.result {
        case .analysis(let a):
            analysis = try AnalysisResult(wire: a, field: "TaskResult.analysis")
        case .tile(let t):
            tile = TileResult(sourceSumSquares: t.sourceSumSquares, errorSumSquares: t.errorSumSquares, maxAbsError: t.maxAbsError,
                              highElements: try WireField.int(t.highElements, "TaskResult.tile.high_elements"),
                              elements: try WireField.int(t.elements, "TaskResult.tile.elements"))
        case .compensation(let c):
            compensation = CompensationResult(rank: try WireField.int(c.rank, "TaskResult.compensation.rank"), sourceSumSquares: c.sourceSumSquares,
                                              errorSumSquaresBefore: c.errorSumSquaresBefore, errorSumSquaresAfter: c.errorSumSquaresAfter)
        case .measurement(let m):
            var list: [CandidateMeasurement] = []
            for (k, x) in m.candidates.enumerated() {
                let field = "TaskResult.measurement.candidates[\(k)]"
                list.append(CandidateMeasurement(policy: try LevelPolicy(wire: WireField.required(x.hasPolicy, x.policy, field + ".policy"), field: field + ".policy"),
                                                 bytes: try WireField.int(x.bytes, field + ".bytes"), relativeError: x.relativeError))
            }
            measurements = list
        case nil:
            throw WireFormatError("TaskResult.result", "missing: one of analysis, tile, compensation, measurement is required")
        }
    }
}
