import Foundation
import Engine
import UQCITProtocol

/// TaskOutcome <-> TaskResult: the output files with binary digests, and one typed result per task kind.
extension Uqcit_V2_TaskResult {
    init(_ o: TaskOutcome, attempt: UInt32) {
        self.init()
        taskID = o.taskId
        self.attempt = attempt
        outputs = o.outputs.map(Uqcit_V2_OutputFile.init)
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
        } else if let p = o.layerPass {
            result = .layerPass(.with { $0.tokens = UInt64(p.tokens) })
        }
    }
}

extension TaskOutcome {
    /// The outcome as the worker reported it; whether it fits the leased task is ResultValidator's question.
    public init(wire r: Uqcit_V2_TaskResult) throws(WireFormatError) {
        var outputs: [TaskOutputFile] = []
        for (k, f) in r.outputs.enumerated() { outputs.append(try TaskOutputFile(wire: f, field: "TaskResult.outputs[\(k)]")) }
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
        case .layerPass(let p):
            layerPass = LayerPassResult(tokens: try WireField.int(p.tokens, "TaskResult.layer_pass.tokens"))
        case nil:
            throw WireFormatError("TaskResult.result", "missing: one of analysis, tile, compensation, measurement, layer_pass is required")
        }
    }
}
