import Foundation
import Engine
import UQCITProtocol

/// LayerPassSpec <-> LayerPassTask, HessianInput <-> HessianInput, LayerPassResult, and the staged-file references
/// they carry. The proto's enums list the roles and spaces in the order of the Swift enums' cases, from 1.
extension Uqcit_V2_LayerPassTask {
    init(_ s: LayerPassSpec) {
        self.init()
        layer = UInt64(s.layer); shard = UInt64(s.shard)
        switch s.shape {
        case .llama(let l):
            shape = .with {
                $0.hiddenSize = UInt64(l.hiddenSize); $0.intermediateSize = UInt64(l.intermediateSize)
                $0.heads = UInt64(l.heads); $0.kvHeads = UInt64(l.kvHeads); $0.headDim = UInt64(l.headDim)
                $0.rmsNormEps = l.rmsNormEps; $0.inverseFrequencies = l.inverseFrequencies
            }
        case .bert(let b):
            bertShape = .with {
                $0.hiddenSize = UInt64(b.hiddenSize); $0.intermediateSize = UInt64(b.intermediateSize); $0.heads = UInt64(b.heads)
                $0.layerNormEps = b.layerNormEps; $0.activation = b.activation; $0.maxPositions = UInt64(b.maxPositions)
            }
        }
        tensors = s.tensors.map { b in
            .with {
                $0.role = Uqcit_V2_BlockTensorRole(rawValue: BlockTensorRole.allCases.firstIndex(of: b.role)! + 1)!
                $0.tensor = .init(b.tensor)
                if let st = b.staged {
                    $0.staged = .with { $0.layout = .init(st.layout); $0.tileRows = UInt64(st.tileRows); $0.tiles = st.tiles.map(Uqcit_V2_OutputFile.init) }
                }
            }
        }
        sequences = UInt64(s.sequences); sequenceLength = UInt64(s.sequenceLength)
        if let e = s.embedding { embedding = .init(e) }
        tokens = s.tokens.map { UInt64($0) }
        if let h = s.hidden { hidden = .init(h) }
    }
}

extension LayerPassSpec {
    init(wire w: Uqcit_V2_LayerPassTask, field f: String) throws(WireFormatError) {
        let blockShape: BlockShape, shapeField: String
        switch w.blockShape {
        case .shape(let shape)?:
            shapeField = f + ".shape"
            blockShape = .llama(LlamaBlockShape(
                hiddenSize: try WireField.int(shape.hiddenSize, f + ".shape.hidden_size"),
                intermediateSize: try WireField.int(shape.intermediateSize, f + ".shape.intermediate_size"),
                heads: try WireField.int(shape.heads, f + ".shape.heads"), kvHeads: try WireField.int(shape.kvHeads, f + ".shape.kv_heads"),
                headDim: try WireField.int(shape.headDim, f + ".shape.head_dim"), rmsNormEps: shape.rmsNormEps,
                inverseFrequencies: shape.inverseFrequencies))
        case .bertShape(let shape)?:
            shapeField = f + ".bert_shape"
            blockShape = .bert(BertBlockShape(
                hiddenSize: try WireField.int(shape.hiddenSize, f + ".bert_shape.hidden_size"),
                intermediateSize: try WireField.int(shape.intermediateSize, f + ".bert_shape.intermediate_size"),
                heads: try WireField.int(shape.heads, f + ".bert_shape.heads"), layerNormEps: shape.layerNormEps,
                activation: shape.activation, maxPositions: try WireField.int(shape.maxPositions, f + ".bert_shape.max_positions")))
        case nil:
            throw WireFormatError(f + ".shape", "missing (a Llama shape or a bert_shape)")
        }
        if let p = blockShape.problem() { throw WireFormatError(shapeField, p) }
        var tensors: [BlockTensor] = []
        for (k, b) in w.tensors.enumerated() {
            let field = "\(f).tensors[\(k)]"
            let raw = b.role.rawValue
            guard raw >= 1 && raw <= BlockTensorRole.allCases.count else { throw WireField.badEnum(raw, field + ".role") }
            var staged: StagedTensor?
            if b.hasStaged {
                let s = b.staged
                staged = StagedTensor(
                    layout: try QuantizedTensorLayout(wire: WireField.required(s.hasLayout, s.layout, field + ".staged.layout"), field: field + ".staged.layout"),
                    tileRows: try WireField.int(s.tileRows, field + ".staged.tile_rows"),
                    tiles: try s.tiles.enumerated().map { (j, t) throws(WireFormatError) in try TaskOutputFile(wire: t, field: "\(field).staged.tiles[\(j)]") })
            }
            tensors.append(BlockTensor(role: BlockTensorRole.allCases[raw - 1],
                                       tensor: try CheckpointTensor(wire: WireField.required(b.hasTensor, b.tensor, field + ".tensor"), field: field + ".tensor"),
                                       staged: staged))
        }
        let sequences = try WireField.int(w.sequences, f + ".sequences"), length = try WireField.int(w.sequenceLength, f + ".sequence_length")
        guard sequences >= 1, length >= 1, sequences <= Int(Int32.max) / length else {
            throw WireFormatError(f + ".sequences", "\(sequences) sequences of \(length) tokens")
        }
        self.init(layer: try WireField.int(w.layer, f + ".layer"), shard: try WireField.int(w.shard, f + ".shard"), shape: blockShape,
                  tensors: tensors, sequences: sequences, sequenceLength: length,
                  embedding: w.hasEmbedding ? try CheckpointTensor(wire: w.embedding, field: f + ".embedding") : nil,
                  tokens: try WireField.ints(w.tokens, f + ".tokens"),
                  hidden: w.hasHidden ? try TaskOutputFile(wire: w.hidden, field: f + ".hidden") : nil)
        guard (embedding != nil && tokens.count == tokenCount && hidden == nil) || (embedding == nil && tokens.isEmpty && hidden != nil) else {
            throw WireFormatError(f, "needs either an embedding with \(tokenCount) tokens or a hidden input, not both")
        }
    }
}

extension Uqcit_V2_HessianInput {
    init(_ h: HessianInput) {
        self.init()
        space = Uqcit_V2_HessianSpace(rawValue: HessianSpace.allCases.firstIndex(of: h.space)! + 1)!
        shards = h.shards.map(Uqcit_V2_OutputFile.init)
        damping = h.damping; blockSize = UInt64(h.blockSize); actOrder = h.actOrder
        diagonalImportance = h.rounding == .diagonalImportance
    }
}

extension HessianInput {
    init(wire w: Uqcit_V2_HessianInput, field f: String) throws(WireFormatError) {
        let raw = w.space.rawValue
        guard raw >= 1 && raw <= HessianSpace.allCases.count else { throw WireField.badEnum(raw, f + ".space") }
        guard !w.shards.isEmpty else { throw WireFormatError(f + ".shards", "missing") }
        guard w.damping.isFinite, w.damping >= 0 else { throw WireFormatError(f + ".damping", "\(w.damping), must be finite and >= 0") }
        guard w.blockSize >= 1 else { throw WireFormatError(f + ".block_size", "0, must be at least 1") }
        self.init(space: HessianSpace.allCases[raw - 1],
                  shards: try w.shards.enumerated().map { (k, s) throws(WireFormatError) in try TaskOutputFile(wire: s, field: "\(f).shards[\(k)]") },
                  rounding: w.diagonalImportance ? .diagonalImportance : .gptq,
                  damping: w.damping, blockSize: try WireField.int(w.blockSize, f + ".block_size"), actOrder: w.actOrder)
    }
}

extension Uqcit_V2_OutputFile {
    init(_ f: TaskOutputFile) {
        self.init()
        name = f.name; size = UInt64(f.size); sha256 = Data(Digest.bytes(hex: f.sha256))
    }
}

extension TaskOutputFile {
    init(wire f: Uqcit_V2_OutputFile, field: String) throws(WireFormatError) {
        guard f.sha256.count == 32 else { throw WireFormatError(field + ".sha256", "\(f.sha256.count) bytes, a SHA-256 is 32") }
        self.init(name: try WireField.nonEmpty(f.name, field + ".name"), size: try WireField.int(f.size, field + ".size"),
                  sha256: Digest.hex(Array(f.sha256)))
    }
}
