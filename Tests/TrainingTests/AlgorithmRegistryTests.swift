import Agents
import Environments
import Foundation
import Neural
import Sim
import Testing
import TestSupport
@testable import Training

/// The errors of resolving `request`, joined (empty when it resolves).
private func problems(_ request: RunRequest) -> String {
    do { _ = try request.resolve(); return "" } catch { return "\(error)" }
}

private func request(env: String = "cartpole", agent: String? = nil, set overrides: [String] = [], config: String? = nil) -> RunRequest {
    var request = RunRequest()
    request.environment = env
    request.agent = agent
    request.overrides = overrides
    request.configFile = config
    return request
}

@Suite struct HyperparameterTests {
    @Test("Every algorithm declares exactly its typed configuration's hyperparameters, with kinds that fit the defaults")
    func specsMatchTypedConfigurations() throws {
        for algorithm in AlgorithmRegistry.all {
            let names = algorithm.hyperparameterNames
            #expect(Set(names).count == names.count, "\(algorithm.id) declares a name twice")
            #expect(Set(algorithm.defaults.keys) == Set(names), "\(algorithm.id)")
            // Each default is already of its kind: converting it again changes nothing.
            for spec in algorithm.hyperparameters {
                let value = try #require(algorithm.defaults[spec.name])
                if value == .null { #expect(spec.kind == .optionalNumber, "\(algorithm.id).\(spec.name) has no default"); continue }
                let converted = try spec.assignments(value).get()
                #expect(converted.count == 1 && converted[0].1 == value, "\(algorithm.id).\(spec.name): \(value)")
            }
        }
        // The typed configurations read every declared name: a value set by name comes back through the type.
        var config = RunConfig()
        try config.setAgent(DQNTrainer.algorithm.id)
        try config.set(["gamma": .double(0.5), "net_arch": .list([.int(7)]), "priority_beta0": .double(0.3)], source: "test")
        let dqn = try config.hyperparameters(as: DQNConfig.self)
        #expect(dqn.gamma == 0.5 && dqn.netArch == [7] && dqn.priorityBeta0 == 0.3)
        #expect(Set(DQNConfig.hyperparameterNames) == Set(DQNTrainer.algorithm.hyperparameterNames))
        #expect(Set(ActorCriticConfig.hyperparameterNames) == Set(ActorCriticTrainer.ppo.hyperparameterNames))
    }

    @Test("--set: misspelled names get a \"did you mean\" and the agent's own names; other sections and wrong kinds are refused")
    func setMessages() {
        let typo = problems(request(set: ["learning_rat=1e-3"]))
        #expect(typo.contains("dqn has no hyperparameter 'learning_rat' (did you mean learning_rate?)"), "\(typo)")
        #expect(typo.contains("exploration_final_eps") && !typo.contains("total_timesteps"), "lists the agent's names: \(typo)")
        let topLevel = problems(request(set: ["total_timestep=10"]))
        #expect(topLevel.contains("did you mean total_timesteps?"), "\(topLevel)")
        let section = problems(request(set: ["ppo.n_steps=64"]))
        #expect(section.contains("the ppo section does not apply: this run's agent is dqn"), "\(section)")
        let kind = problems(request(set: ["learning_rate=fast"]))
        #expect(kind.contains("learning_rate: expected a number (got 'fast')") && kind.contains("lin_<start>"), "\(kind)")
        let layers = problems(request(set: ["net_arch=64,x"]))
        #expect(layers.contains("net_arch: expected a list of layer sizes"), "\(layers)")
        let choice = problems(request(set: ["encoder=cnn"]))
        #expect(choice.contains("encoder: expected one of mlp, attention, lstm"), "\(choice)")
        let agent = problems(request(agent: "ppp"))
        #expect(agent.contains("unknown agent 'ppp' (did you mean ppo?)"), "\(agent)")
    }

    @Test("--set takes lin_X schedules, comma lists and YAML values")
    func setValues() throws {
        let config = try request(agent: "ppo", set: ["learning_rate=lin_0.001", "clip_range=lin_0.2", "net_arch=128,128",
                                                     "target_kl=0.02", "normalize_advantage=false"]).resolve()
        let ppo = try config.hyperparameters(as: ActorCriticConfig.self)
        #expect(ppo.learningRate == 0.001 && ppo.learningRateEnd == 0 && ppo.clipRange == 0.2 && ppo.clipRangeEnd == 0)
        #expect(ppo.netArch == [128, 128] && ppo.targetKl == 0.02 && !ppo.normalizeAdvantage)
        let list = try request(set: ["net_arch=[32, 16]", "learning_rate_end=null"]).resolve()
        #expect(try list.hyperparameters(as: DQNConfig.self).netArch == [32, 16])
    }

    @Test("config.json keeps only the agent's section and reads back equal; old files with every section still load")
    func configJSONRoundTrip() throws {
        var config = try request(agent: "a2c", set: ["n_steps=7", "target_kl=0.5"]).resolve()
        config.scheduleTimesteps = 12_345
        let data = try config.encodedJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["a2c"] != nil && object["ppo"] == nil && object["dqn"] == nil)
        #expect(try JSONDecoder().decode(RunConfig.self, from: data) == config)
        // A config.json written before runs kept one section: the other algorithms' sections are ignored.
        var old = object
        old["dqn"] = ["learning_rate": 0.5]
        let reread = try JSONDecoder().decode(RunConfig.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(reread == config)
    }
}

@Suite(.serialized) struct ZooConfigTests {
    init() { pinBLASToOneThread() }

    private func resolve(_ file: String, agent: String? = nil, set: [String] = []) throws -> RunConfig {
        try request(agent: agent, set: set, config: Fixtures.path("zoo/\(file)")).resolve()
    }

    @Test("The zoo's CartPole-v1 PPO, A2C and DQN entries load with the zoo's values, over SB3's defaults")
    func cartPoleEntries() throws {
        let ppoRun = try resolve("ppo.yml")
        let ppo = try ppoRun.hyperparameters(as: ActorCriticConfig.self)
        #expect(ppoRun.agent == "ppo" && ppoRun.totalTimesteps == 100_000 && ppoRun.nEnvs == 8 && ppoRun.preset == nil)
        #expect(ppo.nSteps == 32 && ppo.batchSize == 256 && ppo.gaeLambda == 0.8 && ppo.gamma == 0.98 && ppo.nEpochs == 20)
        #expect(ppo.entCoef == 0 && ppo.learningRate == 0.001 && ppo.learningRateEnd == 0 && ppo.clipRange == 0.2 && ppo.clipRangeEnd == 0)
        var expected = ActorCriticConfig.ppo  // everything the entry does not name stays at SB3's default
        expected.nSteps = 32; expected.batchSize = 256; expected.gaeLambda = 0.8; expected.gamma = 0.98; expected.nEpochs = 20
        expected.entCoef = 0; expected.learningRate = 0.001; expected.learningRateEnd = 0; expected.clipRangeEnd = 0
        #expect(ppo == expected)

        let a2cRun = try resolve("a2c.yml")
        var a2cExpected = ActorCriticConfig.a2c
        a2cExpected.entCoef = 0
        #expect(a2cRun.agent == "a2c" && a2cRun.totalTimesteps == 500_000 && a2cRun.nEnvs == 8)
        #expect(try a2cRun.hyperparameters(as: ActorCriticConfig.self) == a2cExpected)

        let dqnRun = try resolve("dqn.yml")
        var dqnExpected = DQNConfig()
        dqnExpected.learningRate = 2.3e-3; dqnExpected.batchSize = 64; dqnExpected.bufferSize = 100_000
        dqnExpected.learningStarts = 1_000; dqnExpected.gamma = 0.99; dqnExpected.targetUpdateInterval = 10
        dqnExpected.trainFreq = 256; dqnExpected.gradientSteps = 128; dqnExpected.explorationFraction = 0.16
        dqnExpected.explorationFinalEps = 0.04; dqnExpected.netArch = [256, 256]
        #expect(dqnRun.agent == "dqn" && dqnRun.totalTimesteps == 50_000 && dqnRun.nEnvs == 1)
        #expect(try dqnRun.hyperparameters(as: DQNConfig.self) == dqnExpected)
        // The same values as the cartpole-dqn preset, which was copied from this entry by hand.
        #expect(try Presets.named("cartpole-dqn").config.hyperparameters(as: DQNConfig.self) == dqnExpected)
    }

    @Test("The zoo's Pendulum-v1 SAC and TD3 entries, and a HER entry (replay_buffer_class, replay_buffer_kwargs, MultiInputPolicy)")
    func offPolicyEntries() throws {
        let sacRun = try request(env: "pendulum", config: Fixtures.path("zoo/sac.yml")).resolve()
        var sac = OffPolicyConfig.sac
        sac.learningRate = 1e-3
        #expect(sacRun.agent == "sac" && sacRun.totalTimesteps == 20_000 && sacRun.nEnvs == 1)
        #expect(try sacRun.hyperparameters(as: OffPolicyConfig.self) == sac)

        let td3Run = try request(env: "pendulum", config: Fixtures.path("zoo/td3.yml")).resolve()
        var td3 = OffPolicyConfig.td3
        td3.gamma = 0.98; td3.bufferSize = 200_000; td3.learningStarts = 10_000; td3.noiseType = "normal"; td3.noiseStd = 0.1
        td3.learningRate = 1e-3; td3.netArch = [400, 300]
        #expect(td3Run.agent == "td3")
        #expect(try td3Run.hyperparameters(as: OffPolicyConfig.self) == td3)

        let herRun = try request(env: "arm", config: Fixtures.path("zoo/sac.yml")).resolve()
        let her = try herRun.hyperparameters(as: OffPolicyConfig.self)
        #expect(her.usesHindsight && her.goalSelectionStrategy == "final" && her.nSampledGoal == 8 && her.nCritics == 3)
        #expect(her.netArch == [128, 128] && her.batchSize == 512 && her.tau == 0.05 && herRun.totalTimesteps == 100_000)
    }

    @Test("policy_kwargs strings, normalize dicts and nn activations map to Dojo's names")
    func policyKeywords() throws {
        let run = try resolve("cartpole-policy-kwargs.yml", agent: "ppo")
        let ppo = try run.hyperparameters(as: ActorCriticConfig.self)
        #expect(ppo.netArch == [32, 32] && ppo.activationFn == "relu" && !ppo.orthoInit && ppo.logStdInit == -1)
        #expect(ppo.normalizeObservations && !ppo.normalizeRewards && ppo.learningRate == 3e-4 && ppo.learningRateEnd == 0)
        #expect(run.totalTimesteps == 2_000 && run.nEnvs == 4)
    }

    @Test("Keys without a counterpart are refused, each named with the reason; a missing section says which exist")
    func unsupportedKeys() throws {
        // Pendulum's PPO entry explores with gSDE, which Dojo does not have.
        let section = try #require({ () -> [String: ConfigValue]? in
            let text = try String(contentsOfFile: Fixtures.path("zoo/ppo.yml"), encoding: .utf8)
            guard case .mapping(let file) = ConfigValue(yaml: try BoundedYAML.load(text)),
                  case .mapping(let entry)? = file["Pendulum-v1"] else { return nil }
            return entry
        }())
        let translated = try ZooConfig.translate(section, algorithm: ActorCriticTrainer.ppo)
        #expect(translated.unsupported.count == 2 && translated.unsupported.allSatisfy { $0.contains("gSDE") })
        #expect(translated.hyperparameters == ["n_steps": .int(1024), "gae_lambda": .double(0.95), "gamma": .double(0.9),
                                               "n_epochs": .int(10), "ent_coef": .double(0), "learning_rate": .double(1e-3),
                                               "clip_range": .double(0.2)])
        #expect(translated.settings == ["total_timesteps": .double(1e5), "n_envs": .int(4)])
        // The A2C Pendulum entry: RMSprop and the policy keywords map; gSDE does not.
        let a2cText = try String(contentsOfFile: Fixtures.path("zoo/a2c.yml"), encoding: .utf8)
        guard case .mapping(let a2cFile) = ConfigValue(yaml: try BoundedYAML.load(a2cText)),
              case .mapping(let a2cEntry)? = a2cFile["Pendulum-v1"] else { Issue.record("no Pendulum-v1 entry"); return }
        let a2c = try ZooConfig.translate(a2cEntry, algorithm: ActorCriticTrainer.a2c)
        #expect(a2c.unsupported.count == 1 && a2c.unsupported[0].hasPrefix("use_sde"))
        #expect(a2c.hyperparameters["optimizer"] == .string("rmsprop") && a2c.hyperparameters["log_std_init"] == .int(-2)
                && a2c.hyperparameters["ortho_init"] == .bool(false) && a2c.hyperparameters["normalize_observations"] == .bool(true)
                && a2c.hyperparameters["learning_rate"] == .string("lin_7e-4"))

        // A misspelled key in a zoo file gets a "did you mean".
        let folder = temporaryDirectory("zoo-typo")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let typo = folder + "/ppo.yml"
        try "CartPole-v1:\n  policy: 'MlpPolicy'\n  n_timesteps: 1000\n  gae_lamda: 0.9\n".write(toFile: typo, atomically: true, encoding: .utf8)
        let message = problems(request(config: typo))
        #expect(message.contains("gae_lamda has no counterpart in Dojo's ppo (did you mean gae_lambda?)"), "\(message)")
        // The atari section is not for cart-pole; a gridworld run finds no section and is told where to look.
        let missing = problems(request(env: "gridworld", config: Fixtures.path("zoo/ppo.yml")))
        #expect(missing.contains("no section for gridworld") && missing.contains("dojo train cartpole --config"), "\(missing)")
    }

    @Test("Each zoo CartPole entry trains (a short budget) and its run evaluates", arguments: ["ppo.yml", "a2c.yml", "dqn.yml"])
    func zooEntriesTrain(file: String) throws {
        var config = try resolve(file, set: ["learning_starts=100"].filter { _ in file == "dqn.yml" })
        config.totalTimesteps = 512
        config.evalFreq = 256
        config.nEvalEpisodes = 2
        config.logInterval = 128
        let directory = temporaryDirectory("zoo-\(file)")
        let summary = try makeTrainer(config: config, directory: directory).run(progress: nil, stopAt: nil)
        #expect(summary.steps >= 512 && summary.lastEvaluation != nil)
        let (result, _) = try TrainedRun(directory: directory).evaluate(episodes: 3, seed: 1)
        #expect(result.returns.count == 3)
    }
}

// MARK: An extra algorithm, registered in one place

/// Linear random search: perturb a linear policy's weights, keep the perturbation when its episode scores at least as
/// well. Small on purpose; it exists to show that registering an algorithm is all it takes to train, evaluate and
/// watch it.
private struct RandomSearchConfig: Codable, Sendable {
    var noiseStd: Double = 0.5
    enum CodingKeys: String, CodingKey { case noiseStd = "noise_std" }
    init() {}
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        noiseStd = try c.decodeIfPresent(Double.self, forKey: .noiseStd) ?? noiseStd
    }
}

/// Greedy action of a linear score: argmax over actions of W · observation, W of shape (actions, observation).
private final class LinearPolicy: EvaluationPolicy, ExplainablePolicy {
    var weights: [Float]
    let actions: Int, size: Int
    init(weights: [Float], actions: Int, size: Int) { self.weights = weights; self.actions = actions; self.size = size }
    func beginEpisode() {}
    func scores(_ observation: UnsafePointer<Float>) -> [Double] {
        (0..<actions).map { a in (0..<size).reduce(0.0) { $0 + Double(weights[a * size + $1] * observation[$1]) } }
    }
    func act(_ observation: UnsafePointer<Float>, into action: UnsafeMutablePointer<Float>) {
        let s = scores(observation)
        action[0] = Float(s.indices.max { s[$0] < s[$1] } ?? 0)
    }
    func thoughts(about observation: UnsafePointer<Float>) -> PolicyThoughts? {
        PolicyThoughts(kind: .actionValues, actions: scores(observation), value: nil, attention: [])
    }
    var model: SafeTensors.File {
        var file = SafeTensors.File(metadata: ["format": "pt"])
        file.append("policy.weight", .float32(Tensor(shape: [actions, size], scalars: weights)))
        return file
    }
}

private final class RandomSearchTrainer: Trainer {
    let config: RunConfig
    let directory: String
    let hyperparameters: RandomSearchConfig
    private(set) var step = 0
    var onEvaluation: ((any EvaluationPolicy) throws -> Void)?

    init(config: RunConfig, hyperparameters: RandomSearchConfig, directory: String) throws {
        self.config = config
        self.hyperparameters = hyperparameters
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
        try config.writeJSON(inRun: directory, to: directory + "/config.json")
    }

    func run(progress: ProgressReporter?, stopAt: Int?) throws -> TrainingSummary {
        let env = try EnvironmentRegistry.make(config.env, options: config.envOptions)
        guard case .discrete(let actions) = env.actionSpace else { throw TrainingError.invalidConfig(["discrete actions only"]) }
        let size = env.observationSpace.flatCount
        var rng = SeededGenerator(seed: config.seed)
        let best = LinearPolicy(weights: [Float](repeating: 0, count: actions * size), actions: actions, size: size)
        var bestReturn = -Double.infinity, episodes = 0
        while step < (stopAt ?? config.totalTimesteps) {
            let candidate = LinearPolicy(weights: best.weights.map { $0 + Float(hyperparameters.noiseStd * rng.nextGaussian()) },
                                         actions: actions, size: size)
            let (result, _) = try Evaluator.evaluate(env: config.env, options: config.envOptions, seed: rng.next(), episodes: 1,
                                                      policy: candidate)
            step += result.lengths[0]
            episodes += 1
            if result.returns[0] >= bestReturn { bestReturn = result.returns[0]; best.weights = candidate.weights }
        }
        try CheckpointFolder.write(directory + "/checkpoints/best", model: best.model, state: nil, config: config)
        let (evaluation, _) = try Evaluator.evaluate(env: config.env, options: config.envOptions, seed: config.seed,
                                                     episodes: config.nEvalEpisodes, policy: best)
        return TrainingSummary(steps: step, episodes: episodes, interrupted: false, lastEvaluation: evaluation,
                               bestEvaluationReturn: evaluation.meanReturn)
    }
}

private let randomSearch = Algorithm(
    id: "random-search", summary: "linear random search (a test algorithm)", defaults: RandomSearchConfig(),
    hyperparameters: [.init("noise_std", .number, "standard deviation of the weight perturbations")],
    problems: { config, _, actionSpace, _ in
        var problems: [String] = []
        if !(config.noiseStd > 0) { problems.append("noise_std must be positive") }
        if case .discrete = actionSpace {} else { problems.append("random-search needs discrete actions") }
        return problems
    },
    makeTrainer: { config, hyperparameters, directory, _ in
        try RandomSearchTrainer(config: config, hyperparameters: hyperparameters, directory: directory)
    },
    loadPolicy: { _, _, model, path, observationSpace, _, actionSpace in
        guard case .discrete(let actions) = actionSpace else { throw TrainingError.invalidConfig(["discrete actions only"]) }
        let size = observationSpace.flatCount
        let weights = try model.float32("policy.weight", path: path)
        guard weights.shape == [actions, size] else { throw TrainingError.corruptCheckpoint("\(path): policy.weight has shape \(weights.shape)") }
        return LinearPolicy(weights: weights.scalars, actions: actions, size: size)
    })

@Suite(.serialized) struct ExtraAlgorithmTests {
    @Test("An algorithm registered in one place trains, evaluates and is watched headless, with its own hyperparameters")
    func registeredAlgorithmRuns() throws {
        try AlgorithmRegistry.register(randomSearch)
        defer { AlgorithmRegistry.unregister(randomSearch.id) }
        #expect(throws: TrainingError.self) { try AlgorithmRegistry.register(randomSearch) }

        var request = request(agent: "random-search", set: ["noise_std=0.3", "total_timesteps=3000", "n_eval_episodes=5"])
        let typo = problems({ var r = request; r.overrides.append("noise_sd=1"); return r }())
        #expect(typo.contains("random-search has no hyperparameter 'noise_sd' (did you mean noise_std?)"), "\(typo)")
        request.seed = 2
        let config = try request.resolve()
        #expect(config.problems().isEmpty && config.hyperparameters["noise_std"] == .double(0.3))
        let directory = temporaryDirectory("random-search")
        let summary = try makeTrainer(config: config, directory: directory).run(progress: nil, stopAt: nil)
        #expect(summary.steps >= 3_000)

        let run = try TrainedRun(directory: directory)
        #expect(run.config == config)
        let (result, _) = try run.evaluate(episodes: 5, seed: 9)
        #expect(result.returns.count == 5)

        let session = try WatchSession(driver: .trained(run), seed: 4)
        var steps = 0
        while session.advance() && steps < 50 { steps += 1 }
        let display = session.display
        #expect(display.barsTitle == "Q-VALUES" && display.bars.count == 2 && steps > 0)
    }
}

@Suite struct HyperparameterReferenceTests {
    @Test("docs/hyperparameters.md is the registry's table")
    func hyperparameterReference() throws {
        let path = Fixtures.root + "/../../docs/hyperparameters.md"
        let generated = AlgorithmRegistry.hyperparameterReference()
        if ProcessInfo.processInfo.environment["DOJO_WRITE_FIXTURES"] == "1" {
            try generated.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        #expect(committed == generated, "docs/hyperparameters.md is stale; regenerate it (see its header)")
    }
}

@Suite struct ObservationStorageTests {
    @Test("Replay storage follows the declared observation kind: features in [0, 1] stay exact, binary planes become bytes")
    func storageFollowsDeclaredKind() throws {
        let space: Space = .box(low: 0, high: 1, shape: [3])
        let features: [Float] = [0.37, 1, 0.001], next: [Float] = [0.5, 0, 0.25]
        let continuous = ReplayBuffer(capacity: 4, observationSpace: space, observationKind: .continuous)
        continuous.add(observation: features, action: 1, reward: 0, nextObservation: next, terminated: false, discount: 1)
        #expect(!continuous.observations.storesBits)
        var read = [Float](repeating: -1, count: 3)
        continuous.observations.read(row: 0, into: &read)
        #expect(read == features)
        continuous.observations.read(row: 1, into: &read)
        #expect(read == next)

        let binary = ReplayBuffer(capacity: 4, observationSpace: space, observationKind: .binary)
        binary.add(observation: [1, 0, 1], action: 0, reward: 0, nextObservation: [0, 1, 0], terminated: true, discount: 1)
        binary.observations.read(row: 0, into: &read)
        #expect(binary.observations.storesBits && read == [1, 0, 1])

        // The environments declare it: gridworld's one-hot planes are binary, the others real-valued.
        for id in EnvironmentRegistry.ids {
            let kind = try EnvironmentRegistry.make(id).observationKind
            #expect(kind == (id == "gridworld" ? .binary : .continuous), "\(id)")
        }
        // A gridworld DQN run's replay keeps bytes; a cart-pole one floats.
        for (env, bytes) in [("gridworld", true), ("cartpole", false)] {
            var config = smallRun()
            config.env = env
            config.envOptions = [:]
            let trainer = try DQNTrainer(config: config, directory: temporaryDirectory("storage-\(env)"))
            #expect(try #require(trainer.learner as? FeedForwardQLearner).buffer.observations.storesBits == bytes, "\(env)")
        }
    }

    @Test("The checker refuses an environment that declares binary observations and returns other values")
    func checkerHoldsTheDeclaration() throws {
        final class Mislabelled: EnvironmentWrapper {
            let inner: CartPole
            init() throws { inner = try CartPole(options: [:]) }
            var observationKind: ObservationKind { .binary }
            func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
                inner.step(action, observation: observation)
            }
        }
        let problems = try EnvironmentChecker.check { try Mislabelled() }
        #expect(problems.contains { $0.contains("declares binary observations") }, "\(problems)")
    }
}
