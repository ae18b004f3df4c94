import Engine
import Runtime

/// A calibrated job's layer pipeline, planned from headers and the tokenized calibration text: the block shape,
/// every block's weights by role with the plan index of each calibrated linear, and the shards of sequences
/// that CAPTURE and PROPAGATE run over.
public struct CalibrationPlan: Codable, Sendable {
    public struct Block: Codable, Sendable {
        public var layer: Int
        /// The block's source weights by role (biases only where the model has them).
        public var tensors: [BlockTensor]
        /// Plan index of each of the block's linears (seven in Llama, six in BERT), all quantized.
        public var linears: [BlockTensorRole: Int]

        /// The task id anchor: a layer pass belongs to its block's folder through this tensor.
        public var anchor: Int { linears[.q]! }
    }

    public var settings: CalibrationSettings
    public var shape: BlockShape
    public var embedding: CheckpointTensor
    public var blocks: [Block]
    /// Token ids per shard, `shardSequences[s] * settings.sequenceLength` of them.
    public var shards: [[Int]]

    /// `tokens`: the calibration text as the model's tokenizer reads it (already cut to --calibration-tokens);
    /// `candidates`: an auto profile's, when the linears' policies are still to be chosen from them.
    init(settings: CalibrationSettings, tokens: [Int], source: ModelSource, assignments: [TensorAssignment], file: String,
         candidates: [LevelPolicy]? = nil) throws {
        if let p = settings.problem() { throw JobError.invalid("profile: \(p)") }
        let architecture = try Self.architecture(source)
        guard settings.sequenceLength <= architecture.maxPositions else {
            throw JobError.invalid("calibration.sequence_length \(settings.sequenceLength) exceeds the model's max_position_embeddings \(architecture.maxPositions)")
        }
        let t = settings.sequenceLength
        let count = min(settings.sequences, tokens.count / t)
        guard count >= 1 else {
            throw JobError.invalid("\(file): \(tokens.count) calibration tokens, fewer than one sequence of \(t) (calibration.sequence_length)")
        }
        if let bad = tokens.prefix(count * t).first(where: { $0 < 0 || $0 >= architecture.vocabSize }) {
            throw JobError.invalid("\(file): token id \(bad) outside the model's vocabulary of \(architecture.vocabSize)")
        }
        self.settings = settings
        shape = architecture.shape
        shards = stride(from: 0, to: count, by: settings.shardSequences).map { first in
            Array(tokens[(first * t)..<(min(first + settings.shardSequences, count) * t)])
        }
        var index: [String: Int] = [:]
        for (i, a) in assignments.enumerated() { index[a.tensor.name] = i }
        let bert: Bool
        if case .bert = shape { bert = true } else { bert = false }
        let embeddingName = bert ? "embeddings.word_embeddings.weight" : "embed_tokens.weight"
        guard let prefix = [bert ? "bert." : "model.", ""].first(where: { index[$0 + embeddingName] != nil }) else {
            throw JobError.invalid("\(source.location): no \(embeddingName) to embed the calibration tokens with")
        }
        embedding = assignments[index[prefix + embeddingName]!].tensor
        let linearRoles = shape.linearRoles
        blocks = try (0..<architecture.layers).map { l in
            // Llama's roles with their names (biases optional); BERT's, all required, block 0 with the embedding stage.
            let roles: [(role: BlockTensorRole, name: String, optional: Bool)] = bert
                ? (BlockTensorRole.bertLayerRoles + (l == 0 ? BlockTensorRole.bertEmbeddingRoles : [])).map { ($0, $0.bertName(layer: l)!, false) }
                : BlockTensorRole.allCases.compactMap { r in r.llamaName(layer: l).map { (r, $0, r.isOptional) } }
            var tensors: [BlockTensor] = [], linears: [BlockTensorRole: Int] = [:]
            for (role, suffix, optional) in roles {
                let name = prefix + suffix
                guard let i = index[name] else {
                    if optional { continue }
                    throw JobError.invalid("\(source.location): block \(l) has no \(name)")
                }
                tensors.append(BlockTensor(role: role, tensor: assignments[i].tensor))
                guard linearRoles.contains(role) else { continue }
                guard let own = assignments[i].policy else {
                    throw JobError.invalid("tensor '\(name)': a calibrated profile quantizes every block linear")
                }
                for p in candidates ?? [own] {
                    guard p.highFraction == 0, p.compensationRank == 0,
                          p.ggml != nil || (p.symmetricLow ?? p.low.isSymmetric && [.int8, .int4, .int3, .int2].contains(p.low)) else {
                        throw JobError.invalid("tensor '\(name)': a calibrated profile rounds every block linear by GPTQ to a ggml type or one symmetric int8/4/3/2 part with no high share or compensation (\(p.pattern))")
                    }
                    if p.ggml != nil, settings.actOrder {
                        throw JobError.invalid("tensor '\(name)': calibration.act_order does not apply to ggml types, whose blocks keep their columns together")
                    }
                }
                linears[role] = i
            }
            return Block(layer: l, tensors: tensors, linears: linears)
        }
    }

    /// The block the model's config.json describes: a BERT encoder (model_type "bert") or a Llama-family decoder.
    private static func architecture(_ source: ModelSource) throws -> (shape: BlockShape, layers: Int, vocabSize: Int, maxPositions: Int) {
        if source.config["model_type"]?.stringValue == "bert" {
            do {
                let c = try BertConfig(source.config)
                return (.bert(c.blockShape), c.layers, c.vocabSize, c.maxPositions)
            } catch {
                throw JobError.invalid("calibrated profiles run BERT encoder layers; \(source.location): \(error)")
            }
        }
        do {
            let c = try LlamaConfig(source.config)
            return (.llama(c.blockShape), c.layers, c.vocabSize, c.maxPositions)
        } catch {
            throw JobError.invalid("calibrated profiles run Llama-family blocks or BERT encoder layers; \(source.location): \(error)")
        }
    }

    public var layerPassCount: Int { blocks.count * shards.count + (blocks.count - 1) * shards.count }

    public func sequences(ofShard s: Int) -> Int { shards[s].count / settings.sequenceLength }

    /// The anchor of the block that reads a layer pass's files: CAPTURE's H are its own block's, PROPAGATE's X the next's.
    public func readerAnchor(of kind: TaskKind, _ spec: LayerPassSpec) -> Int {
        blocks[kind == .propagate ? spec.layer + 1 : spec.layer].anchor
    }

    /// The staging folders of the blocks stored in package folder `folder`: nothing reads them once it is assembled.
    public func stagingFolders(ofPackageFolder folder: String, plan: JobPlan) -> [String] {
        blocks.filter { plan.assignments[$0.anchor].folder == folder }.map { StagingNames.calibrationFolder(layer: $0.layer) }
    }

    /// The block and role of a calibrated linear, by plan index.
    public func linear(_ tensorIndex: Int) -> (block: Int, role: BlockTensorRole)? {
        for (b, block) in blocks.enumerated() {
            if let (role, _) = block.linears.first(where: { $0.value == tensorIndex }) { return (b, role) }
        }
        return nil
    }

    /// CAPTURE (source weights) or PROPAGATE (`staged` linears) of block `b` on shard `s`, whose input is the
    /// embedded tokens for block 0 and `hidden` (X_b, staged by PROPAGATE of block b - 1) after.
    public func layerPass(block b: Int, shard s: Int, hidden: TaskOutputFile?, staged: [BlockTensorRole: StagedTensor] = [:]) -> LayerPassSpec {
        let block = blocks[b]
        return LayerPassSpec(layer: block.layer, shard: s, shape: shape,
                             tensors: block.tensors.map { BlockTensor(role: $0.role, tensor: $0.tensor, staged: staged[$0.role]) },
                             sequences: sequences(ofShard: s), sequenceLength: settings.sequenceLength,
                             embedding: b == 0 ? embedding : nil, tokens: b == 0 ? shards[s] : [], hidden: b == 0 ? nil : hidden)
    }

    /// A calibrated linear's tile input: its space's H from every CAPTURE shard of its block, and the rounding.
    public func hessianInput(role: BlockTensorRole, shards files: [TaskOutputFile]) -> HessianInput {
        HessianInput(space: HessianSpace(role: role)!, shards: files, rounding: settings.rounding ?? .gptq, damping: settings.damping,
                     blockSize: settings.blockSize, actOrder: settings.actOrder)
    }
}
