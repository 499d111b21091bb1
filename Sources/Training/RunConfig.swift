import Agents
import Environments
import Foundation
import Sim

/// Everything needed to rebuild a training run: environment and options, agent and hyperparameters, budget, seed,
/// evaluation and checkpoint schedule. Saved as `config.json` in the run directory; keys are snake_case like
/// Stable-Baselines3's.
public struct RunConfig: Codable, Equatable, Sendable {
    /// Environment id and options (as `--option key=value`).
    public var env: String = "gridworld"
    public var envOptions: [String: String] = [:]
    /// The agent: "dqn", "ppo" or "a2c".
    public var agent: String = "dqn"
    /// The preset this run started from, if any.
    public var preset: String?
    /// Environment steps to train for (over all copies).
    public var totalTimesteps: Int = 100_000
    /// The horizon of the linear schedules (ε, learning rate, clip range), when it differs from `totalTimesteps`:
    /// a run extended with `--resume RUN --steps N` keeps the horizon it started with, so its schedules stay where they
    /// ended instead of jumping back.
    public var scheduleTimesteps: Int?
    public var seed: UInt64 = 0
    /// Environment copies stepped in lockstep.
    public var nEnvs: Int = 1
    /// Environment steps between evaluations, and episodes per evaluation (greedy).
    public var evalFreq: Int = 10_000
    public var nEvalEpisodes: Int = 10
    /// Environment steps between metric rows.
    public var logInterval: Int = 1_000
    public var dqn = DQNConfig()
    /// PPO's and A2C's hyperparameters (Stable-Baselines3's defaults for each); the one `agent` names is used.
    public var ppo = ActorCriticConfig.ppo
    public var a2c = ActorCriticConfig.a2c

    public init() {}

    /// The largest budget a run accepts (10^12 steps: years of simulation at Dojo's speed).
    public static let maximumTimesteps = 1_000_000_000_000

    public static let agents = ["dqn", "ppo", "a2c"]

    /// A new budget of `steps` in total for a resumed run (Stable-Baselines3's `reset_num_timesteps=False`): the
    /// schedules keep the horizon the run started with, so the result equals an uninterrupted run of `steps` with
    /// `schedule_timesteps` set to that horizon.
    public mutating func extend(to steps: Int) {
        if scheduleTimesteps == nil && steps != totalTimesteps { scheduleTimesteps = totalTimesteps }
        totalTimesteps = steps
    }

    /// The fraction of the schedules' horizon done at `step`, in [0, 1].
    public func progress(atStep step: Int) -> Double {
        min(1, Double(step) / Double(max(scheduleTimesteps ?? totalTimesteps, 1)))
    }

    /// The actor-critic hyperparameters of this run's agent (nil for DQN).
    public var actorCritic: ActorCriticConfig? {
        switch agent { case "ppo": return ppo; case "a2c": return a2c; default: return nil }
    }

    enum CodingKeys: String, CodingKey {
        case env, envOptions = "env_options", agent, preset, totalTimesteps = "total_timesteps"
        case scheduleTimesteps = "schedule_timesteps", seed, nEnvs = "n_envs"
        case evalFreq = "eval_freq", nEvalEpisodes = "n_eval_episodes", logInterval = "log_interval", dqn, ppo, a2c
    }

    /// Decodes a partial config over the defaults.
    public init(from decoder: any Decoder) throws {
        self.init()
        try merge(from: decoder)
    }

    /// Overrides the fields present in `decoder`.
    public mutating func merge(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        env = try c.decodeIfPresent(String.self, forKey: .env) ?? env
        envOptions = try c.decodeIfPresent([String: String].self, forKey: .envOptions) ?? envOptions
        agent = try c.decodeIfPresent(String.self, forKey: .agent) ?? agent
        preset = try c.decodeIfPresent(String.self, forKey: .preset) ?? preset
        totalTimesteps = try c.decodeIfPresent(Int.self, forKey: .totalTimesteps) ?? totalTimesteps
        scheduleTimesteps = try c.decodeIfPresent(Int.self, forKey: .scheduleTimesteps) ?? scheduleTimesteps
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        nEnvs = try c.decodeIfPresent(Int.self, forKey: .nEnvs) ?? nEnvs
        evalFreq = try c.decodeIfPresent(Int.self, forKey: .evalFreq) ?? evalFreq
        nEvalEpisodes = try c.decodeIfPresent(Int.self, forKey: .nEvalEpisodes) ?? nEvalEpisodes
        logInterval = try c.decodeIfPresent(Int.self, forKey: .logInterval) ?? logInterval
        // Merge sections field by field so a partial section keeps the other values.
        func merged<T: Codable>(_ current: T, _ key: CodingKeys) throws -> T {
            guard c.contains(key) else { return current }
            let base = try JSONSerialization.jsonObject(with: JSONEncoder().encode(current)) as! [String: Any]
            let partial = try c.decode(AnyJSON.self, forKey: key).value as? [String: Any] ?? [:]
            return try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: base.merging(partial) { _, new in new }))
        }
        dqn = try merged(dqn, .dqn)
        ppo = try merged(ppo, .ppo)
        a2c = try merged(a2c, .a2c)
    }

    /// Checks everything before training, building the environment once to check the spaces. Each problem says
    /// what to change.
    public func problems() -> [String] {
        var problems: [String] = []
        if !Self.agents.contains(agent) { problems.append("unknown agent '\(agent)'; available: \(Self.agents.joined(separator: ", "))") }
        if totalTimesteps < 1 || totalTimesteps > Self.maximumTimesteps {
            problems.append("total_timesteps must be in 1...\(Self.maximumTimesteps) (got \(totalTimesteps))")
        }
        if let horizon = scheduleTimesteps, horizon < 1 || horizon > Self.maximumTimesteps {
            problems.append("schedule_timesteps must be in 1...\(Self.maximumTimesteps) (got \(horizon))")
        }
        if nEnvs < 1 || nEnvs > 1024 { problems.append("n_envs must be in 1...1024 (got \(nEnvs))") }
        if evalFreq < 1 || nEvalEpisodes < 1 { problems.append("eval_freq and n_eval_episodes must be positive") }
        if logInterval < 1 { problems.append("log_interval must be positive") }
        do {
            let environment = try EnvironmentRegistry.make(env, options: envOptions)
            if let actorCritic {
                problems += actorCritic.problems(observationSpace: environment.observationSpace, actionSpace: environment.actionSpace,
                                                 algorithm: agent, environmentCopies: nEnvs)
            } else {
                problems += dqn.problems(observationSpace: environment.observationSpace, actionSpace: environment.actionSpace)
            }
        } catch {
            problems.append("\(error)")
        }
        return problems
    }

    public func encodedJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}

/// Any JSON value, for merging partial sections.
struct AnyJSON: Decodable {
    let value: Any
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Bool.self) { value = v }
        else if let v = try? c.decode(Double.self) { value = v }
        else if let v = try? c.decode(String.self) { value = v }
        else if let v = try? c.decode([AnyJSON].self) { value = v.map(\.value) }
        else if let v = try? c.decode([String: AnyJSON].self) { value = v.mapValues(\.value) }
        else { value = NSNull() }
    }
}

/// A named starting point: environment, options, agent hyperparameters and budget that are known to work.
public struct Preset: Sendable {
    public let name: String
    public let summary: String
    /// What this preset reaches, as measured (see bench/).
    public let target: String
    public let config: RunConfig
}

public enum Presets {
    /// The preset `dojo train` uses with no arguments.
    public static let defaultName = "gridworld-four-rooms-dqn"

    public static let all: [Preset] = [
        preset("gridworld-four-rooms-dqn", "DQN on the four-rooms gridworld (fully observed, random starts)",
               target: "within 2% of the optimal return", env: "gridworld",
               options: ["map": "four-rooms", "random_start": "true"], steps: 100_000) { c in
            c.learningRate = 3e-4; c.bufferSize = 50_000; c.learningStarts = 1_000; c.batchSize = 64; c.gamma = 0.99
            c.trainFreq = 4; c.targetUpdateInterval = 2_000; c.explorationFraction = 0.2; c.explorationFinalEps = 0.05
            c.netArch = [64]; c.activationFn = "tanh"; c.doubleQ = true; c.nStep = 3
        },
        preset("gridworld-key-door-dqn", "DQN on the key-door gridworld",
               target: "within 2% of the optimal return", env: "gridworld", options: ["map": "key-door"], steps: 60_000) { c in
            c.learningRate = 1e-3; c.bufferSize = 50_000; c.learningStarts = 1_000; c.batchSize = 64
            c.trainFreq = 4; c.targetUpdateInterval = 1_000; c.explorationFraction = 0.5; c.explorationFinalEps = 0.05
            c.netArch = [64]; c.activationFn = "tanh"; c.doubleQ = true; c.nStep = 5
        },
        preset("gridworld-lava-crossing-dqn", "DQN on the lava-crossing gridworld",
               target: "within 2% of the optimal return", env: "gridworld", options: ["map": "lava-crossing"], steps: 60_000) { c in
            c.learningRate = 1e-3; c.learningRateEnd = 1e-4; c.bufferSize = 50_000; c.learningStarts = 1_000; c.batchSize = 64
            c.trainFreq = 4; c.targetUpdateInterval = 1_000; c.explorationFraction = 0.5; c.explorationFinalEps = 0.05
            c.netArch = [64]; c.activationFn = "tanh"; c.doubleQ = true; c.nStep = 5
        },
        preset("gridworld-maze-dqn", "DQN on a seeded 15×15 maze (maze_seed picks the maze; random starts)",
               target: "within 2% of the optimal return", env: "gridworld",
               options: ["map": "maze", "size": "15", "maze_seed": "1", "random_start": "true"], steps: 100_000) { c in
            c.learningRate = 1e-3; c.learningRateEnd = 1e-4; c.bufferSize = 50_000; c.learningStarts = 1_000; c.batchSize = 64
            c.trainFreq = 4; c.targetUpdateInterval = 1_000; c.explorationFraction = 0.5; c.explorationFinalEps = 0.05
            c.netArch = [64]; c.activationFn = "tanh"; c.doubleQ = true; c.nStep = 5
        },
        preset("gridworld-memory-drqn", "Recurrent DQN (LSTM) on the memory task: remember the cue until the fork",
               target: "success ≥ 0.9", env: "gridworld", options: ["map": "memory"], steps: 100_000) { c in
            c.encoder = "lstm"; c.learningRate = 5e-4; c.learningRateEnd = 5e-5; c.bufferSize = 50_000; c.learningStarts = 1_000; c.batchSize = 32
            c.trainFreq = 4; c.targetUpdateInterval = 1_000; c.explorationFraction = 0.2; c.explorationFinalEps = 0.02
            c.netArch = [64]; c.lstmHidden = 64; c.sequenceLength = 32; c.burnIn = 8; c.doubleQ = true
        },
        preset("gridworld-memory-dqn", "Memoryless DQN (MLP) on the memory task: the baseline at chance",
               target: "near chance (≤ 0.5 success)", env: "gridworld", options: ["map": "memory"], steps: 100_000) { c in
            c.learningRate = 5e-4; c.bufferSize = 50_000; c.learningStarts = 1_000; c.batchSize = 32
            c.trainFreq = 4; c.targetUpdateInterval = 1_000; c.explorationFraction = 0.2; c.explorationFinalEps = 0.02
            c.netArch = [64]; c.activationFn = "tanh"; c.doubleQ = true
        },
        preset("cartpole-dqn", "DQN on cart-pole with the rl-baselines3-zoo hyperparameters",
               target: "mean return ≥ 475 within 50,000 steps", env: "cartpole", options: [:], steps: 50_000) { c in
            c.learningRate = 2.3e-3; c.batchSize = 64; c.bufferSize = 100_000; c.learningStarts = 1_000; c.gamma = 0.99
            c.targetUpdateInterval = 10; c.trainFreq = 256; c.gradientSteps = 128; c.explorationFraction = 0.16
            c.explorationFinalEps = 0.04; c.netArch = [256, 256]
        },
        preset("highway-attention-dqn", "DQN with the ego-attention encoder on highway-fast (the 9 nearest vehicles as an entity set)",
               target: "fewer collisions than highway-mlp-dqn at the same budget", env: "highway",
               options: highwayOptions, steps: 100_000) { c in
            highwayDQN(&c)
            c.encoder = "attention"; c.embedDim = 64; c.attentionHeads = 2; c.netArch = [64, 64]
        },
        preset("highway-mlp-dqn", "DQN with an MLP on the same observation, flattened: the baseline for the attention encoder",
               target: "the baseline (see bench/README.md)", env: "highway",
               options: highwayOptions.merging(["observation": "flat"]) { $1 }, steps: 100_000) { c in
            highwayDQN(&c)
            c.netArch = [256, 256]
        },
        preset("arm-reach-dqn", "DQN on the two-link arm's reach task with discretized torques (−1/0/+1 × 0.05 N·m per joint)",
               target: "report the reach success rate (actor-critic solves it)", env: "arm",
               options: ["task": "reach", "action": "discrete", "control_cost": "0.05", "torque_limit": "0.05"], steps: 100_000) { c in
            c.learningRate = 1e-3; c.learningRateEnd = 1e-4; c.bufferSize = 100_000; c.learningStarts = 1_000; c.batchSize = 64
            c.gamma = 0.98; c.trainFreq = 4; c.targetUpdateInterval = 1_000; c.explorationFraction = 0.3
            c.explorationFinalEps = 0.05; c.netArch = [256, 256]; c.doubleQ = true
        },
        actorCriticPreset("cartpole-ppo", "PPO on cart-pole with the rl-baselines3-zoo hyperparameters",
                          target: "mean return ≥ 475 within 50,000 steps", env: "cartpole", options: [:], agent: "ppo",
                          steps: 50_000, envs: 8) { c in
            c.nSteps = 32; c.batchSize = 256; c.gaeLambda = 0.8; c.gamma = 0.98; c.nEpochs = 20; c.entCoef = 0
            c.learningRate = 1e-3; c.learningRateEnd = 0; c.clipRange = 0.2; c.clipRangeEnd = 0
        },
        actorCriticPreset("cartpole-a2c", "A2C on cart-pole with the rl-baselines3-zoo hyperparameters",
                          target: "mean return ≥ 475 within 100,000 steps", env: "cartpole", options: [:], agent: "a2c",
                          steps: 100_000, envs: 8) { c in
            c.entCoef = 0
        },
        actorCriticPreset("arm-reach-ppo", "PPO on the two-link arm's reach task (continuous torques)",
                          target: "success ≥ 90% and mean final distance below 2 cm", env: "arm", options: ["task": "reach"],
                          agent: "ppo", steps: 1_200_000, envs: 8) { c in
            c.nSteps = 256; c.batchSize = 256; c.nEpochs = 10; c.gamma = 0.99; c.gaeLambda = 0.95; c.learningRate = 1e-3
            c.learningRateEnd = 1e-4; c.entCoef = 0; c.netArch = [64, 64]; c.normalizeObservations = true; c.logStdInit = -0.5
        },
        actorCriticPreset("arm-push-ppo", "PPO on the two-link arm's push task: push the disc onto the target",
                          target: "report the success rate (see bench/README.md)", env: "arm", options: ["task": "push"],
                          agent: "ppo", steps: 3_000_000, envs: 8) { c in
            c.nSteps = 256; c.batchSize = 256; c.nEpochs = 10; c.gamma = 0.99; c.gaeLambda = 0.9; c.learningRate = 3e-4
            c.learningRateEnd = 3e-5; c.entCoef = 0; c.netArch = [64, 64]; c.normalizeObservations = true
            c.normalizeRewards = true; c.maxGradNorm = 1; c.logStdInit = -0.5
        },
        actorCriticPreset("highway-attention-ppo", "PPO with the ego-attention encoder on highway-fast (9 nearest vehicles)",
                          target: "collision rate ≤ 10% while faster than the traffic", env: "highway",
                          options: highwayOptions, agent: "ppo", steps: 1_000_000, envs: 8) { c in
            highwayPPO(&c)
            c.encoder = "attention"; c.embedDim = 64; c.attentionHeads = 2; c.netArch = [64, 64]
        },
        actorCriticPreset("highway-mlp-ppo", "PPO with an MLP on the same observation, flattened: the attention baseline",
                          target: "the baseline (see bench/README.md)", env: "highway",
                          options: highwayOptions.merging(["observation": "flat"]) { $1 }, agent: "ppo", steps: 1_000_000,
                          envs: 8) { c in
            highwayPPO(&c)
            c.netArch = [256, 256]
        },
        actorCriticPreset("cartpole-masked-recurrent-ppo", "Recurrent PPO (LSTM) on cart-pole with velocities hidden (after sb3-contrib's zoo settings)",
                          target: "mean return ≥ 475", env: "cartpole", options: ["velocity": "false"], agent: "ppo",
                          steps: 200_000, envs: 8) { c in
            // One LSTM shared by actor and critic (sb3-contrib's default has a second one for the critic): reward
            // scaling keeps the value loss from drowning the policy's gradient in it.
            c.encoder = "lstm"; c.lstmHidden = 64; c.netArch = [64]; c.activationFn = "relu"; c.orthoInit = false
            c.nSteps = 32; c.batchSize = 256; c.gaeLambda = 0.8; c.gamma = 0.98; c.nEpochs = 10; c.entCoef = 0
            c.learningRate = 1e-3; c.learningRateEnd = 0; c.clipRange = 0.2; c.clipRangeEnd = 0; c.normalizeRewards = true
        },
        actorCriticPreset("gridworld-memory-recurrent-ppo", "Recurrent PPO (LSTM) on the memory task: remember the cue until the fork",
                          target: "success ≥ 0.9", env: "gridworld", options: ["map": "memory"], agent: "ppo",
                          steps: 600_000, envs: 8) { c in
            memoryPPO(&c)
            c.encoder = "lstm"; c.lstmHidden = 64
        },
        actorCriticPreset("gridworld-memory-ppo", "Memoryless PPO (MLP) on the memory task: the baseline at chance",
                          target: "near chance (≤ 0.5 success)", env: "gridworld", options: ["map": "memory"], agent: "ppo",
                          steps: 600_000, envs: 8) { c in
            memoryPPO(&c)
        },
    ]

    /// PPO settings for the memory task: rollouts long enough to span an episode, a shorter horizon (γ 0.95) and a
    /// learning rate annealed to zero, which keeps the solved policy from drifting.
    static func memoryPPO(_ c: inout ActorCriticConfig) {
        c.nSteps = 128; c.batchSize = 256; c.nEpochs = 4; c.gamma = 0.95; c.gaeLambda = 0.95; c.learningRate = 5e-4
        c.learningRateEnd = 0; c.entCoef = 0.01; c.netArch = [64]
    }

    /// PPO settings for highway: a short horizon (γ 0.9), a small entropy bonus, the learning rate annealed to zero.
    static func highwayPPO(_ c: inout ActorCriticConfig) {
        c.nSteps = 128; c.batchSize = 64; c.nEpochs = 10; c.gamma = 0.9; c.gaeLambda = 0.95; c.learningRate = 5e-4
        c.learningRateEnd = 0; c.entCoef = 0.01
    }

    /// An actor-critic preset: `agent` ("ppo" or "a2c") from SB3's defaults, tuned by `tune`.
    private static func actorCriticPreset(_ name: String, _ summary: String, target: String, env: String,
                                          options: [String: String], agent: String, steps: Int, envs: Int,
                                          tune: (inout ActorCriticConfig) -> Void) -> Preset {
        var config = RunConfig()
        config.env = env
        config.envOptions = options
        config.preset = name
        config.agent = agent
        config.totalTimesteps = steps
        config.nEnvs = envs
        if agent == "ppo" { tune(&config.ppo) } else { tune(&config.a2c) }
        return Preset(name: name, summary: summary, target: target, config: config)
    }

    /// highway-fast-v0's settings with 9 observed vehicles, seen behind too.
    static let highwayOptions = ["scenario": "highway-fast", "observed_vehicles": "9", "see_behind": "true"]

    /// The settings of highway-env's DQN example (SB3 on highway-fast-v0): a short horizon (γ 0.8), frequent target
    /// updates and long exploration.
    static func highwayDQN(_ c: inout DQNConfig) {
        c.learningRate = 5e-4; c.bufferSize = 15_000; c.learningStarts = 200; c.batchSize = 32; c.gamma = 0.8
        c.trainFreq = 1; c.gradientSteps = 1; c.targetUpdateInterval = 50; c.explorationFraction = 0.7
        c.explorationFinalEps = 0.05; c.doubleQ = true
    }

    public static var names: [String] { all.map(\.name) }

    public static func named(_ name: String) throws -> Preset {
        guard let preset = all.first(where: { $0.name == name }) else {
            throw TrainingError.unknownPreset(name, valid: names)
        }
        return preset
    }

    private static func preset(_ name: String, _ summary: String, target: String, env: String, options: [String: String],
                               steps: Int, dqn tune: (inout DQNConfig) -> Void) -> Preset {
        var config = RunConfig()
        config.env = env
        config.envOptions = options
        config.preset = name
        config.totalTimesteps = steps
        tune(&config.dqn)
        return Preset(name: name, summary: summary, target: target, config: config)
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case unknownPreset(String, valid: [String])
    case invalidConfig([String])
    case diverged(step: Int, detail: String)
    case simulationFailed(SimulationError)
    case notARun(String)
    case corruptCheckpoint(String)
    case cannotWrite(String, String)

    /// The problems of an `invalidConfig`, or the description as one problem.
    var problems: [String] {
        if case .invalidConfig(let problems) = self { return problems }
        return [description]
    }

    public var description: String {
        switch self {
        case .unknownPreset(let name, let valid):
            return "unknown preset '\(name)'; available: \(valid.joined(separator: ", ")) (see `dojo train --help`)"
        case .invalidConfig(let problems):
            return "the run cannot start:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .simulationFailed(let failure):
            return "\(failure); the last good checkpoint is kept"
        case .diverged(let step, let detail):
            return "training diverged at step \(step) (\(detail)); the last good checkpoint is kept. Lower learning_rate or max_grad_norm."
        case .notARun(let path):
            return "\(path) is not a Dojo run directory (no config.json); pass the folder `dojo train` printed"
        case .corruptCheckpoint(let detail):
            return "the checkpoint cannot be used: \(detail)"
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write (\(reason)); check there is free space and the folder is writable"
        }
    }
}
