import Agents
import Environments
import Foundation
import Neural
import Sim
import Yams

/// Builds a run's config from the command line's layers, each overriding the one before: the preset (the default
/// one when neither a preset nor an environment is named; for a named environment its first preset), a YAML or JSON
/// config file, `--option` environment options, `--set key=value` hyperparameters, and the explicit flags.
public struct RunRequest {
    public var environment: String?
    /// The agent; nil keeps the preset's (DQN when there is none).
    public var agent: String?
    public var preset: String?
    public var configFile: String?
    public var options: [String: String] = [:]
    public var overrides: [String] = []
    public var steps: Int?
    public var seed: UInt64?
    public var envs: Int?

    public init() {}

    public func resolve() throws -> RunConfig {
        var config: RunConfig
        if let preset {
            config = try Presets.named(preset).config
        } else if let environment {
            if let match = Presets.all.first(where: {
                $0.config.env == environment && $0.config.agent == (agent ?? AlgorithmRegistry.defaultAlgorithm.id)
            }) {
                config = match.config
            } else {
                config = RunConfig()
                config.env = environment
                config.preset = nil
            }
        } else {
            config = try Presets.named(Presets.defaultName).config
        }
        if let environment, environment != config.env {
            throw TrainingError.invalidConfig(["preset \(config.preset ?? "") is for \(config.env), not \(environment); drop one of them"])
        }
        if let agent { try config.setAgent(agent) }
        if let configFile { try Self.merge(file: configFile, agentGiven: agent != nil, into: &config) }
        config.envOptions.merge(options) { _, new in new }
        if !overrides.isEmpty { try Self.apply(overrides, to: &config) }
        if let steps { config.totalTimesteps = steps }
        if let seed { config.seed = seed }
        if let envs { config.nEnvs = envs }
        return config
    }

    /// Merges a YAML or JSON file: Dojo's keys (as in config.json; a partial file is fine) or an rl-baselines3-zoo
    /// hyperparameter file (see ``ZooConfig``).
    static func merge(file path: String, agentGiven: Bool = false, into config: inout RunConfig) throws {
        try merge(contents: try RunConfig.readConfigText(path), path: path, agentGiven: agentGiven, into: &config)
    }

    /// Merges the bytes of a YAML or JSON config file; `path` labels errors.
    package static func merge(contents data: Data, path: String, agentGiven: Bool = false, into config: inout RunConfig) throws {
        let text = String(decoding: data, as: UTF8.self)
        let object: Any?
        do { object = try BoundedYAML.load(text) } catch let error as TrainingError {
            throw TrainingError.invalidConfig(["\(path): \(error.problems.joined(separator: "; "))"])
        } catch {
            throw TrainingError.invalidConfig(["\(path): not valid YAML or JSON: \(error)"])
        }
        guard case .mapping(let dictionary) = ConfigValue(yaml: object) else {
            throw TrainingError.invalidConfig(["\(path): the config must be a mapping of keys such as total_timesteps, \(config.agent)"])
        }
        if ZooConfig.looksLikeZoo(dictionary) {
            try ZooConfig.merge(dictionary, path: path, agentGiven: agentGiven, into: &config)
        } else {
            try config.merge(dictionary, source: path)
        }
    }

    /// `--set key=value`: `key` is a top-level key, or a hyperparameter of the run's agent (`learning_rate`), or names
    /// the agent's section (`ppo.n_steps`); the value is read as YAML (numbers, true/false, [64, 64], strings), and a
    /// hyperparameter also takes `lin_0.001` schedules and comma lists (`net_arch=128,128`).
    static func apply(_ assignments: [String], to config: inout RunConfig) throws {
        var top: [String: ConfigValue] = [:], sections: [String: [String: ConfigValue]] = [:]
        let algorithms = AlgorithmRegistry.ids
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "=") else {
                throw TrainingError.invalidConfig(["--set \(quotedForMessage(assignment)): expected key=value, e.g. --set learning_rate=0.001"])
            }
            let key = String(assignment[..<equals])
            let raw = String(assignment[assignment.index(after: equals)...])
            let value = ConfigValue(yaml: try BoundedYAML.loadValue(raw, source: "--set \(key)"))
            if let dot = key.firstIndex(of: "."), algorithms.contains(String(key[..<dot])) {
                sections[String(key[..<dot]), default: [:]][String(key[key.index(after: dot)...])] = value
            } else if RunConfig.topLevelKeys.contains(key) || isTopLevelTypo(key, agent: config.agent) {
                top[key] = value
            } else {
                sections[config.agent, default: [:]][key] = value  // unknown names get the agent's "did you mean"
            }
        }
        for (section, values) in sections { top[section] = .mapping(values) }
        try config.merge(top, source: "--set")
    }

    /// Whether `key` looks like a misspelled top-level key rather than a hyperparameter of `agent` (so that its
    /// "did you mean" names the top-level key).
    private static func isTopLevelTypo(_ key: String, agent: String) -> Bool {
        let hyperparameters = (try? AlgorithmRegistry.named(agent).hyperparameterNames) ?? []
        return Suggestion.closest(to: key, in: RunConfig.topLevelKeys) != nil && Suggestion.closest(to: key, in: hyperparameters) == nil
    }
}

/// YAML read with a bound on the values it expands to: aliases can make a small file expand exponentially (a
/// "billion laughs" file), so the document is composed first and its values counted before any is built.
enum BoundedYAML {
    static let maximumValues = 100_000

    /// Yams' default rules, except that integers are never read in YAML 1.1's base 60 (`1:30`): Yams multiplies
    /// those out without an overflow check and traps on a long one (found by fuzzing). `1:30` stays a string.
    static let resolver: Resolver = {
        guard let decimalIntegers = try? Resolver.Rule(.int, """
            ^(?:[-+]?0b[0-1_]+\
            |[-+]?0o?[0-7_]+\
            |[-+]?(?:0|[1-9][0-9_]*)\
            |[-+]?0x[0-9a-fA-F_]+)$
            """) else { preconditionFailure("the integer rule is a fixed, valid pattern") }
        return [.bool, decimalIntegers, .float, .merge, .null, .timestamp, .value]  // Yams' default order
            .reduce(Resolver.basic) { $0.appending($1) }
    }()

    static func load(_ text: String) throws -> Any? {
        guard let node = try Yams.compose(yaml: text, resolver) else { return nil }
        var budget = maximumValues
        guard try fits(node, budget: &budget) else {
            throw TrainingError.invalidConfig(["the document expands to more than \(maximumValues) values (through YAML aliases?); write it out plainly"])
        }
        return node.any
    }

    /// A `--set` value read as YAML (a number, true/false, a list); plain text when it is not valid YAML.
    static func loadValue(_ raw: String, source: String) throws -> Any {
        do { return try load(raw) ?? raw } catch let error as TrainingError {
            throw TrainingError.invalidConfig(error.problems.map { "\(source): \($0)" })
        } catch {
            return raw
        }
    }

    /// Whether `node` holds at most `budget` values. Throws for a mapping key that is not plain text (a list or a
    /// mapping as a key): Yams traps building such a mapping, and config keys are names.
    private static func fits(_ node: Node, budget: inout Int) throws -> Bool {
        budget -= 1
        guard budget >= 0 else { return false }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard case .scalar = key else {
                    let line = key.mark.map { "line \($0.line), column \($0.column)" } ?? "a key"
                    throw TrainingError.invalidConfig(["\(line): a key is a list or a mapping; keys are names such as total_timesteps"])
                }
                guard try fits(key, budget: &budget), try fits(value, budget: &budget) else { return false }
            }
        case .sequence(let sequence):
            for value in sequence where !(try fits(value, budget: &budget)) { return false }
        case .scalar, .alias:
            break
        }
        return true
    }
}

extension RunConfig {
    /// The largest config file read (a config is a few kilobytes; this stops a crafted file from taking memory).
    static let maximumFileBytes = 1 << 20

    /// The contents of a config file of at most `maximumFileBytes`, with a message naming the file otherwise.
    static func readConfigText(_ path: String) throws -> Data {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? Int, size > maximumFileBytes {
            throw TrainingError.invalidConfig(["\(path): the config file has \(size) bytes; configs are at most \(maximumFileBytes) bytes"])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.invalidConfig(["\(path): cannot read the config file"])
        }
        guard data.count <= maximumFileBytes else {
            throw TrainingError.invalidConfig(["\(path): the config file is larger than \(maximumFileBytes) bytes"])
        }
        return data
    }

    /// The `config.json` of run `directory`, decoded and checked with the same `problems()` as `dojo train`, so
    /// `eval`, `watch` and `--resume` never build an agent from an altered file.
    public static func load(run directory: String) throws -> RunConfig {
        let path = directory + "/config.json"
        guard FileManager.default.fileExists(atPath: path) else { throw TrainingError.notARun(directory) }
        return try decode(runConfig: try readConfigText(path), run: directory, path: path)
    }

    /// Decodes and checks the bytes of run `directory`'s `config.json` (at `path`) as ``load(run:)`` does.
    package static func decode(runConfig data: Data, run directory: String, path: String) throws -> RunConfig {
        let config: RunConfig
        let dictionary: [String: ConfigValue]
        do {
            dictionary = try JSONDecoder().decode([String: ConfigValue].self, from: data)
        } catch {
            throw TrainingError.invalidConfig(["\(path): not valid JSON, or not an object of run settings; the run's config was altered"])
        }
        var decoded = RunConfig()
        try decoded.merge(dictionary, source: path, otherSections: .ignore)
        config = decoded.resolvingFiles(in: directory)
        let problems = config.problems()
        guard problems.isEmpty else { throw TrainingError.invalidConfig(problems.map { "\(path): \($0)" }) }
        return config
    }
}

/// Loads a run directory's config and the policy of one of its checkpoints, through its algorithm's loader: the
/// greedy Q-network for DQN, the actor-critic's mode (with its observation statistics) for PPO and A2C.
public struct TrainedRun {
    public let directory: String
    public let config: RunConfig
    /// The checkpoint's policy, for evaluation and watching.
    public let policy: any EvaluationPolicy

    public init(directory: String, checkpoint: String = "best") throws {
        config = try RunConfig.load(run: directory)
        self.directory = directory
        let env = try EnvironmentRegistry.make(config.env, options: config.envOptions)
        guard let folder = CheckpointFolder.resolve(directory + "/checkpoints/\(checkpoint)") else {
            throw TrainingError.corruptCheckpoint("\(directory)/checkpoints/\(checkpoint) does not exist; checkpoints are written at each evaluation")
        }
        let modelPath = folder + "/model.safetensors"
        let model = try SafeTensors.read(from: modelPath)
        policy = try config.algorithm.loadPolicy(config, model, modelPath, env.observationSpace, env.observationKind, env.actionSpace)
        try Self.checkFinite(model, path: modelPath)
    }

    /// Training never saves non-finite weights, so a model file holding NaN or infinity was altered or damaged.
    static func checkFinite(_ model: SafeTensors.File, path: String) throws {
        for name in model.names {
            guard case .float32(let tensor)? = model.tensors[name], let index = tensor.scalars.firstIndex(where: { !$0.isFinite }) else { continue }
            throw SafeTensorsError.valueOutOfRange(path: path, tensor: name, index: index, value: "\(tensor.scalars[index])",
                                                   expected: "finite numbers")
        }
    }

    public func evaluate(episodes: Int, seed: UInt64) throws -> (result: EvaluationResult, best: Replay) {
        try Evaluator.evaluate(env: config.env, options: config.envOptions, seed: seed, episodes: episodes, policy: policy)
    }
}
