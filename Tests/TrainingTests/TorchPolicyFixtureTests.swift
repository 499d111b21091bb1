@testable import Agents
import Foundation
import Neural
import Sim
import Testing
import TestSupport
@testable import Training

/// One policy kind of the PyTorch loader's fixtures: how its agent is built.
struct PolicyFixtureKind: CustomStringConvertible, Sendable {
    enum Learner: Sendable { case dqn(DQNConfig), actorCritic(ActorCriticConfig) }
    let name: String
    let learner: Learner
    let observationSpace: Space
    let actionSpace: Space
    /// Recurrent kinds act on sequences of `steps` steps.
    var steps: Int { isRecurrent ? 6 : 1 }
    var description: String { name }

    var isRecurrent: Bool {
        switch learner {
        case .dqn(let c): return c.encoder == "lstm"
        case .actorCritic(let c): return c.encoder.hasSuffix("lstm")
        }
    }

    static let all: [PolicyFixtureKind] = {
        let box5 = Space.box(low: -.infinity, high: .infinity, shape: [5])
        let entities = Space.entitySet(rows: 5, features: 4)
        var kinds: [PolicyFixtureKind] = []
        func dqn(_ name: String, _ observations: Space, _ change: (inout DQNConfig) -> Void) {
            var c = DQNConfig(); c.netArch = [16, 16]; c.embedDim = 8; c.attentionHeads = 2; c.lstmHidden = 8
            c.batchSize = 4; c.bufferSize = 8; c.sequenceLength = 4; c.burnIn = 0
            change(&c)
            kinds.append(PolicyFixtureKind(name: name, learner: .dqn(c), observationSpace: observations, actionSpace: .discrete(3)))
        }
        func actorCritic(_ name: String, _ observations: Space, _ actions: Space, _ change: (inout ActorCriticConfig) -> Void) {
            var c = ActorCriticConfig.ppo; c.netArch = [16, 16]; c.embedDim = 8; c.attentionHeads = 2; c.lstmHidden = 8
            c.nSteps = 8; c.batchSize = 8
            change(&c)
            kinds.append(PolicyFixtureKind(name: name, learner: .actorCritic(c), observationSpace: observations, actionSpace: actions))
        }
        let gaussian = Space.box(low: [-1, -0.5], high: [1, 2], shape: [2])
        dqn("dqn_mlp", box5) { _ in }
        dqn("dqn_mlp_dueling_tanh", box5) { $0.dueling = true; $0.activationFn = "tanh" }
        dqn("dqn_attention", entities) { $0.encoder = "attention"; $0.netArch = [16] }
        dqn("dqn_lstm", box5) { $0.encoder = "lstm"; $0.netArch = [12] }
        actorCritic("ppo_mlp_categorical", box5, .discrete(4)) { _ in }
        actorCritic("ppo_mlp_gaussian_normalized", box5, gaussian) { $0.normalizeObservations = true; $0.activationFn = "relu" }
        actorCritic("ppo_attention", entities, .discrete(3)) { $0.encoder = "attention"; $0.netArch = [16] }
        actorCritic("ppo_lstm", box5, .discrete(3)) { $0.encoder = "lstm"; $0.netArch = [] }
        actorCritic("ppo_attention_lstm_gaussian", entities, gaussian) { $0.encoder = "attention-lstm"; $0.netArch = [16] }
        return kinds
    }()
}

/// A policy kind built with fixed random weights, with the model file Dojo writes for it and Dojo's outputs on a
/// batch of observations.
struct PolicyFixture {
    static let rows = 8, sequences = 3

    let kind: PolicyFixtureKind
    let model: SafeTensors.File
    let io: SafeTensors.File

    init(_ kind: PolicyFixtureKind) {
        self.kind = kind
        var rng = SeededGenerator(seed: 2026, stream: UInt64(PolicyFixtureKind.all.firstIndex { $0.name == kind.name }!))
        var metadata = ["format": "pt", "env": "fixture", "step": "0"]
        var model = SafeTensors.File()
        var io = SafeTensors.File(metadata: ["writer": "Tests/TrainingTests/TorchPolicyFixtureTests.swift"])
        let batch = kind.isRecurrent ? Self.sequences : Self.rows, steps = kind.steps
        let observations = Self.observations(kind.observationSpace, count: batch * steps, &rng)
        let starts: [Float] = (0..<(batch * steps)).map { $0 % steps == 0 || $0 == 3 || $0 == 10 ? 1 : 0 }
        let shape = kind.isRecurrent ? [batch, steps, kind.observationSpace.flatCount] : [batch, kind.observationSpace.flatCount]
        io.append("observations", .float32(Tensor(shape: shape, scalars: observations)))
        if kind.isRecurrent { io.append("episode_starts", .float32(Tensor(shape: [batch, steps], scalars: starts))) }
        let outputShape = { (width: Int) in kind.isRecurrent ? [batch, steps, width] : [batch, width] }

        switch kind.learner {
        case .dqn(let config):
            metadata["agent"] = "dqn"
            let policy: any EvaluationPolicy, online: any Module, actions = 3
            let q: [Float]
            if kind.isRecurrent {
                let agent = RecurrentDQNAgent(config: config, observationSpace: kind.observationSpace, actionSpace: kind.actionSpace, rng: &rng)
                Self.randomize(agent.online, &rng)
                agent.targetParameters.copyValues(from: agent.onlineParameters)
                q = Array(UnsafeBufferPointer(start: agent.online.forward(observations, batch: batch, steps: steps, resetMask: starts),
                                              count: batch * steps * actions))
                policy = RecurrentGreedyPolicy(agent: agent)
                online = agent.online
                for entry in agent.online.stateEntries(prefix: "q_net.") + agent.target.stateEntries(prefix: "q_net_target.") {
                    model.append(entry.name, entry.value)
                }
            } else {
                let agent = DQNAgent(config: config, observationSpace: kind.observationSpace, actionSpace: kind.actionSpace, rng: &rng)
                Self.randomize(agent.online, &rng)
                agent.targetParameters.copyValues(from: agent.onlineParameters)
                q = Array(UnsafeBufferPointer(start: agent.online.forward(observations, rows: batch), count: batch * actions))
                policy = GreedyPolicy(agent: agent)
                online = agent.online
                for entry in agent.online.stateEntries(prefix: "q_net.") + agent.target.stateEntries(prefix: "q_net_target.") {
                    model.append(entry.name, entry.value)
                }
            }
            metadata.merge(ModelCard.metadata(network: online, prefix: "q_net.", copies: ["q_net_target."],
                                              observationSpace: kind.observationSpace, actionSpace: kind.actionSpace)) { $1 }
            io.append("q_values", .float32(Tensor(shape: outputShape(actions), scalars: q)))
            io.append("actions", .float32(Tensor(shape: outputShape(1), scalars: Self.act(policy, observations, starts, kind))))

        case .actorCritic(let config):
            metadata["agent"] = "ppo"
            let agent = ActorCriticAgent(config: config, algorithm: .ppo, observationSpace: kind.observationSpace,
                                         actionSpace: kind.actionSpace, rolloutRows: config.nSteps, rng: &rng)
            Self.randomize(agent.policy, &rng)
            var statistics: RunningStatistics?
            var input = observations
            if config.normalizeObservations {
                var running = RunningStatistics(size: kind.observationSpace.flatCount)
                for _ in 0..<50 {
                    let sample = (0..<kind.observationSpace.flatCount).map { Float(rng.nextGaussian()) * 3 + Float($0) }
                    running.update(sample)
                }
                statistics = ObservationNormalizer.asSaved(running)  // as `dojo eval` reads them back
                statistics!.normalize(observations, rows: batch * steps, into: &input)
            }
            let width = agent.distribution.width
            let (head, values) = starts.withUnsafeBufferPointer { mask in
                input.withUnsafeBufferPointer { x in
                    agent.recurrent?.prepare(batch: batch, steps: steps, initialHidden: nil, initialCell: nil, resetMask: mask.baseAddress)
                    let (head, values) = agent.policy.forward(x.baseAddress!, rows: batch * steps)
                    return (Array(UnsafeBufferPointer(start: head, count: batch * steps * width)),
                            Array(UnsafeBufferPointer(start: values, count: batch * steps)))
                }
            }
            io.append("head", .float32(Tensor(shape: outputShape(width), scalars: head)))
            io.append("values", .float32(Tensor(shape: outputShape(1), scalars: values)))
            let policy = ActorCriticPolicyRunner(agent: agent, observationStatistics: statistics)
            io.append("actions", .float32(Tensor(shape: outputShape(agent.actionWidth), scalars: Self.act(policy, observations, starts, kind))))
            metadata.merge(ModelCard.metadata(network: agent.policy, prefix: "policy.", observationSpace: kind.observationSpace,
                                              actionSpace: kind.actionSpace, normalizesObservations: statistics != nil)) { $1 }
            for entry in agent.policy.stateEntries(prefix: "policy.") { model.append(entry.name, entry.value) }
            if let statistics { ObservationNormalizer.append(statistics, to: &model) }
        }
        model.metadata = metadata
        self.model = model
        self.io = io
    }

    /// Acts as `dojo eval` does: one observation at a time, each sequence a new episode, restarted where `starts` says.
    static func act(_ policy: any EvaluationPolicy, _ observations: [Float], _ starts: [Float], _ kind: PolicyFixtureKind) -> [Float] {
        let size = kind.observationSpace.flatCount, width = kind.actionSpace.actionWidth
        let rows = observations.count / size
        var actions = [Float](repeating: 0, count: rows * width)
        observations.withUnsafeBufferPointer { o in
            actions.withUnsafeMutableBufferPointer { a in
                for r in 0..<rows {
                    if !kind.isRecurrent || starts[r] != 0 { policy.beginEpisode() }
                    policy.act(o.baseAddress! + r * size, into: a.baseAddress! + r * width)
                }
            }
        }
        return actions
    }

    /// Random observations of `space`: Gaussian boxes; entity sets with the ego present, other rows present or absent
    /// (absent rows all zero), and one observation with no entity present at all.
    static func observations(_ space: Space, count: Int, _ rng: inout SeededGenerator) -> [Float] {
        guard case .entitySet(let entities, let features) = space else {
            return (0..<(count * space.flatCount)).map { _ in Float(rng.nextGaussian()) * 1.5 }
        }
        var values = [Float](repeating: 0, count: count * entities * features)
        for o in 0..<count {
            for e in 0..<entities where o != 1 && (e == 0 || rng.nextInt(below: 3) != 0) {
                let row = (o * entities + e) * features
                values[row] = 1
                for f in 1..<features { values[row + f] = Float(rng.nextGaussian()) }
            }
        }
        return values
    }

    /// Weights N(0, 0.5²): larger than the initial ones, so outputs (and argmax margins) are well apart.
    static func randomize(_ network: any Module, _ rng: inout SeededGenerator) {
        for named in network.namedParameters(prefix: "") { Initializer.normal(mean: 0, std: 0.5).fill(named.parameter, using: &rng) }
    }

    /// The smallest gap between the best and second-best value of each row (`width` values a row).
    static func smallestMargin(_ values: [Float], width: Int) -> Float {
        stride(from: 0, to: values.count, by: width).map { start in
            let row = values[start..<(start + width)].sorted(by: >)
            return row[0] - row[1]
        }.min() ?? 0
    }
}

extension RunningStatistics {
    fileprivate mutating func update(_ values: [Float]) { values.withUnsafeBufferPointer { update($0.baseAddress!) } }
}

extension RunningStatistics {
    fileprivate func normalize(_ observations: [Float], rows: Int, into output: inout [Float]) {
        observations.withUnsafeBufferPointer { o in
            output.withUnsafeMutableBufferPointer { normalize(o.baseAddress!, rows: rows, into: $0.baseAddress!) }
        }
    }
}

/// Dojo → PyTorch for every policy kind (issue 12): each kind's model file, as the trainers write it (weights, model
/// card, `obs_rms.*`), and Dojo's outputs and eval-time actions on recorded observations are committed under
/// `Tests/Fixtures/policies`; `scripts/test_torch_policies.py` rebuilds each policy in torch from the file alone and
/// checks it acts the same. Regenerate with `DOJO_WRITE_FIXTURES=1 swift test --filter TorchPolicyFixtureTests`.
@Suite struct TorchPolicyFixtureTests {
    init() { pinBLASToOneThread() }

    @Test("The committed PyTorch-loader fixtures are what Dojo writes and computes today", arguments: PolicyFixtureKind.all)
    func policyFixture(kind: PolicyFixtureKind) throws {
        let fixture = PolicyFixture(kind)
        let modelPath = Fixtures.path("policies/\(kind.name).safetensors"), ioPath = Fixtures.path("policies/\(kind.name)_io.safetensors")
        let modelBytes = SafeTensors.encode(fixture.model), ioBytes = SafeTensors.encode(fixture.io)
        if ProcessInfo.processInfo.environment["DOJO_WRITE_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(atPath: Fixtures.path("policies"), withIntermediateDirectories: true)
            try modelBytes.write(to: URL(fileURLWithPath: modelPath), options: .atomic)
            try ioBytes.write(to: URL(fileURLWithPath: ioPath), options: .atomic)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: modelPath)) == modelBytes,
                "Dojo no longer writes \(modelPath) (network, names or model card changed): regenerate it and rerun scripts/test_torch_policies.py")
        // Outputs are compared within float32 rounding, so a different BLAS kernel elsewhere does not fail the test;
        // actions of discrete policies exactly.
        let committed = try SafeTensors.read(from: ioPath)
        #expect(committed.names == fixture.io.names)
        for name in fixture.io.names {
            let expected = try committed.float32(name, path: ioPath), actual = try fixture.io.float32(name, path: "computed")
            #expect(expected.shape == actual.shape, "\(name)")
            if name == "actions", case .discrete = kind.actionSpace {
                #expect(expected.scalars == actual.scalars, "\(kind.name): Dojo's greedy actions changed")
            } else {
                #expect(scaledError(actual.scalars, expected.scalars) <= Tolerance.forward, "\(kind.name): \(name) changed")
            }
        }
    }

    @Test("Fixture actions are well separated (no near-ties a float32 difference could flip) and match the batch outputs",
          arguments: PolicyFixtureKind.all)
    func fixtureIsDecisive(kind: PolicyFixtureKind) throws {
        let io = PolicyFixture(kind).io
        let actions = try io.float32("actions", path: kind.name).scalars
        guard case .discrete(let n) = kind.actionSpace else { return }
        let scores = try io.float32(io.names.contains("q_values") ? "q_values" : "head", path: kind.name).scalars
        #expect(PolicyFixture.smallestMargin(scores, width: n) > 1e-3)
        // Acting one step at a time (the eval path, carrying LSTM state) picks the argmax of the batch outputs.
        var argmax: [Float] = []
        for start in stride(from: 0, to: scores.count, by: n) {
            var best = 0
            for j in 1..<n where scores[start + j] > scores[start + best] { best = j }
            argmax.append(Float(best))
        }
        #expect(actions == argmax)
    }

    @Test("Trainers write the model card and the tensors the fixtures hold, with plain float32 obs_rms tensors",
          arguments: ["dqn", "ppo"])
    func trainersWriteTheCard(agent: String) throws {
        let directory = temporaryDirectory("model-card-\(agent)")
        var config = agent == "dqn" ? smallRun(steps: 400) : smallActorCriticRun(agent: "ppo", env: "arm", steps: 256)
        config.evalFreq = 200
        let trainer = try makeTrainer(config: config, directory: directory)
        _ = try trainer.run(progress: nil, stopAt: nil)
        let model = try SafeTensors.read(from: directory + "/checkpoints/last/model.safetensors")
        let json = try #require(model.metadata[ModelCard.key])
        let card = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(card["card_version"] as? Int == ModelCard.version)
        #expect(card["network"] as? String == (agent == "dqn" ? "q_network" : "actor_critic"))
        #expect(card["prefix"] as? String == (agent == "dqn" ? "q_net." : "policy."))
        guard let actorCritic = trainer as? ActorCriticTrainer else {
            #expect(model.names.allSatisfy { $0.hasPrefix("q_net.") || $0.hasPrefix("q_net_target.") })
            #expect((card["head"] as? [String: Any])?["type"] as? String == "dueling")  // smallRun is dueling
            return
        }
        let size = actorCritic.agent.observationSize
        for name in ["obs_rms.mean", "obs_rms.var"] { #expect(model.tensors[name]?.shape == [size], "\(name)") }
        #expect(model.tensors["obs_rms.count"]?.shape == [1])
        #expect(model.tensors["obs_rms.bits"] == nil)
        #expect(card["observation_normalization"] != nil)
        // The exact statistics for --resume are in the training state.
        let state = try SafeTensors.read(from: directory + "/checkpoints/last/state.safetensors")
        #expect(state.tensors["obs_rms"]?.shape == [2 * size + 1])
        // The trainer evaluates with the statistics as saved (float32), so the checkpoint acts exactly as the
        // evaluation that chose it (continuous actions, compared bit for bit).
        let live = actorCritic.currentPolicy(), saved = try TrainedRun(directory: directory, checkpoint: "last").policy
        var rng = SeededGenerator(seed: 12)
        for _ in 0..<20 {
            let observation = (0..<size).map { _ in Float(rng.nextGaussian()) * 2 }
            var a = [Float](repeating: 0, count: actorCritic.agent.actionWidth), b = a
            live.beginEpisode(); saved.beginEpisode()
            live.act(observation, into: &a)
            saved.act(observation, into: &b)
            #expect(a == b)
        }
    }
}
