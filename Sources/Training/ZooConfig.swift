import Environments
import Foundation
import Sim

/// rl-baselines3-zoo hyperparameter files, read as the zoo writes them: one section per Gymnasium environment id
/// (`CartPole-v1:`), each with `n_timesteps`, `n_envs`, `policy`, `policy_kwargs` as a Python `dict(...)` string,
/// `lin_X` schedules, `normalize` and SB3's hyperparameter names. The zoo names its files after the algorithm
/// (`ppo.yml`), so that is the agent unless `--agent` says otherwise. A zoo section describes a whole run on top of
/// SB3's defaults, so it starts from the algorithm's defaults, not from a preset's values.
enum ZooConfig {
    /// Whether `dictionary` looks like a zoo file: no Dojo key at the top level, and sections holding `policy` or
    /// `n_timesteps`.
    static func looksLikeZoo(_ dictionary: [String: ConfigValue]) -> Bool {
        let dojoKeys = Set(RunConfig.topLevelKeys + AlgorithmRegistry.ids)
        guard !dictionary.keys.contains(where: dojoKeys.contains) else { return false }
        return dictionary.values.contains { value in
            if case .mapping(let section) = value { return section["policy"] != nil || section["n_timesteps"] != nil }
            return false
        }
    }

    /// Merges the section of `dictionary` for the run's environment into `config`. The agent is `--agent`'s when
    /// `agentGiven`, else the file's name when it is an algorithm id (`ppo.yml`), else the run's.
    static func merge(_ dictionary: [String: ConfigValue], path: String, agentGiven: Bool, into config: inout RunConfig) throws {
        let fileName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent.lowercased()
        let agent = !agentGiven && AlgorithmRegistry.ids.contains(fileName) ? fileName : config.agent
        let (name, section) = try self.section(of: dictionary, for: config.env, path: path)
        let translated = try translate(section, algorithm: try AlgorithmRegistry.named(agent))
        guard translated.unsupported.isEmpty else {
            throw TrainingError.invalidConfig(translated.unsupported.map { "\(path), \(name): \($0)" })
        }
        try config.setAgent(agent)
        config.resetHyperparameters()
        config.preset = nil
        config.nEnvs = 1  // the zoo's default
        var settings = translated.settings
        settings[agent] = .mapping(translated.hyperparameters)
        try config.merge(settings, source: "\(path), \(name)")
    }

    /// The section for Dojo environment `env`: the one named by one of its Gymnasium ids or by `env` itself.
    static func section(of dictionary: [String: ConfigValue], for env: String, path: String) throws -> (String, [String: ConfigValue]) {
        let names = [env] + EnvironmentRegistry.gymnasiumIDs.filter { $0.value == env }.map(\.key).sorted()
        for name in names {
            if case .mapping(let section)? = dictionary[name] { return (name, section) }
        }
        let usable = dictionary.keys.filter { EnvironmentRegistry.gymnasiumIDs[$0] != nil || EnvironmentRegistry.ids.contains($0) }.sorted()
        let advice = usable.isEmpty
            ? "none of its sections is for a Dojo environment (Dojo reproduces \(EnvironmentRegistry.gymnasiumIDs.keys.sorted().joined(separator: ", ")))"
            : "name the environment, e.g. dojo train \(EnvironmentRegistry.gymnasiumIDs[usable[0]] ?? usable[0]) --config \(path)"
        throw TrainingError.invalidConfig(["\(path): no section for \(env) (looked for \(names.joined(separator: ", "))); \(advice)"])
    }

    /// A zoo section in Dojo's terms: top-level settings (`total_timesteps`, `n_envs`), the algorithm's hyperparameters
    /// under their Dojo names, and one message for each key that has no counterpart in Dojo.
    static func translate(_ section: [String: ConfigValue], algorithm: Algorithm)
        throws -> (settings: [String: ConfigValue], hyperparameters: [String: ConfigValue], unsupported: [String]) {
        var settings: [String: ConfigValue] = [:], hyperparameters: [String: ConfigValue] = [:], unsupported: [String] = []
        let bySB3Name = Dictionary(algorithm.hyperparameters.compactMap { spec in spec.sb3.map { ($0, spec.name) } }) { first, _ in first }
        func assign(_ sb3Name: String, _ value: ConfigValue) {
            if let name = bySB3Name[sb3Name] {
                hyperparameters[name] = value
            } else {
                unsupported.append("\(sb3Name) has no counterpart in Dojo's \(algorithm.id)"
                                   + Suggestion.hint(for: sb3Name, in: Array(bySB3Name.keys)))
            }
        }
        for (key, value) in section.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "n_timesteps": settings["total_timesteps"] = value
            case "n_envs": settings["n_envs"] = value
            case "policy":
                // MultiInputPolicy concatenates a dictionary observation's parts, as Dojo's networks read them.
                if value != .string("MlpPolicy") && value != .string("MultiInputPolicy") {
                    unsupported.append("policy \(value): Dojo builds MLP policies (with an attention or LSTM encoder as the "
                                       + "hyperparameter encoder says); use MlpPolicy")
                }
            case "policy_kwargs":
                do {
                    for (name, argument) in try policyKeywords(value) { assign("policy_kwargs." + name, argument) }
                } catch let error as PythonLiteral.Failure {
                    unsupported.append("policy_kwargs: \(error.message)")
                }
            case "replay_buffer_kwargs":
                do {
                    for (name, argument) in try keywordArguments(value) { assign("replay_buffer_kwargs." + name, argument.config) }
                } catch let error as PythonLiteral.Failure {
                    unsupported.append("replay_buffer_kwargs: \(error.message)")
                }
            case "normalize":
                do {
                    let (observations, rewards) = try normalization(value)
                    for (name, flag) in [("normalize_observations", observations), ("normalize_rewards", rewards)] {
                        if algorithm.spec(named: name) != nil { hyperparameters[name] = .bool(flag) }
                        else if flag { unsupported.append("normalize: Dojo's \(algorithm.id) has no \(name)") }
                    }
                } catch let error as PythonLiteral.Failure {
                    unsupported.append("normalize: \(error.message)")
                }
            case "use_rms_prop" where algorithm.spec(named: "optimizer") != nil:
                guard case .bool(let flag) = value else { unsupported.append("use_rms_prop: expected True or False (got \(value))"); continue }
                hyperparameters["optimizer"] = .string(flag ? "rmsprop" : "adam")
            case "frame_stack":
                unsupported.append("frame_stack: Dojo runs do not stack frames; a recurrent encoder (encoder: lstm) gives memory")
            case "use_sde", "sde_sample_freq":
                unsupported.append("\(key): Dojo has no generalized state-dependent exploration (gSDE); remove \(key) to explore "
                                   + "with the Gaussian policy's own noise")
            case "env_wrapper", "vec_env_wrapper", "callback", "env_kwargs", "eval_env_kwargs":
                unsupported.append("\(key): Python wrappers and callbacks cannot run in Dojo; set environment options with --option")
            default:
                assign(key, value)
            }
        }
        return (settings, hyperparameters, unsupported)
    }

    /// The keyword arguments of a `policy_kwargs` string (`"dict(net_arch=[64, 64], activation_fn=nn.Tanh)"`), in
    /// Dojo's terms: activations as names (`tanh`), SB3's shared `net_arch=[dict(pi=[64], vf=[64])]` as one list
    /// when actor and critic have the same layers, `optimizer_class=RMSpropTFLike` as `optimizer` and its `eps`.
    static func policyKeywords(_ value: ConfigValue) throws -> [(String, ConfigValue)] {
        let arguments = try keywordArguments(value)
        var keywords: [(String, ConfigValue)] = []
        for (name, argument) in arguments {
            switch (name, argument) {
            case ("activation_fn", .name(let module)):
                keywords.append((name, .string(module.split(separator: ".").last.map { String($0).lowercased() } ?? module)))
            case ("net_arch", .list(let items)) where items.count == 1:
                guard case .dict(let heads) = items[0], let pi = heads["pi"], let vf = heads["vf"], pi == vf else {
                    keywords.append((name, argument.config)); continue
                }
                keywords.append((name, pi.config))
            case ("net_arch", .dict(let heads)):
                guard let pi = heads["pi"], let vf = heads["vf"], pi == vf else {
                    throw PythonLiteral.Failure(message: "net_arch with different actor (pi) and critic (vf) layers has no counterpart: Dojo's trunks share one net_arch")
                }
                keywords.append((name, pi.config))
            case ("optimizer_class", .name(let optimizer)):
                guard optimizer.hasPrefix("RMSprop") || optimizer.hasSuffix(".RMSprop") else {
                    throw PythonLiteral.Failure(message: "optimizer_class \(optimizer) has no counterpart: Dojo has Adam and RMSprop")
                }
                keywords.append((name, .string("rmsprop")))
            case ("optimizer_kwargs", .dict(let options)):
                for (option, optionValue) in options.sorted(by: { $0.key < $1.key }) {
                    keywords.append(("optimizer_kwargs." + option, optionValue.config))
                }
            default:
                keywords.append((name, argument.config))
            }
        }
        return keywords
    }

    /// The keyword arguments of a `dict(...)` string or a mapping (`policy_kwargs`, `replay_buffer_kwargs`).
    static func keywordArguments(_ value: ConfigValue) throws -> [(String, PythonLiteral)] {
        switch value {
        case .string(let text): return try PythonLiteral.keywordArguments(text)
        case .mapping(let mapping): return mapping.sorted { $0.key < $1.key }.map { ($0.key, PythonLiteral(config: $0.value)) }
        default: throw PythonLiteral.Failure(message: "expected a dict(...) string (got \(value))")
        }
    }

    /// `normalize: true` (observations and rewards, VecNormalize's defaults) or `"{'norm_obs': …, 'norm_reward': …}"`.
    static func normalization(_ value: ConfigValue) throws -> (observations: Bool, rewards: Bool) {
        switch value {
        case .bool(let flag): return (flag, flag)
        case .string(let text):
            guard case .dict(let options) = try PythonLiteral.parse(text) else {
                throw PythonLiteral.Failure(message: "expected true, false or a dict such as {'norm_obs': True} (got \(value))")
            }
            let unknown = options.keys.filter { !["norm_obs", "norm_reward", "gamma"].contains($0) }.sorted()
            guard unknown.isEmpty else {
                throw PythonLiteral.Failure(message: "VecNormalize options \(unknown.joined(separator: ", ")) have no counterpart")
            }
            func flag(_ key: String) throws -> Bool {
                guard let option = options[key] else { return true }
                guard case .bool(let flag) = option else { throw PythonLiteral.Failure(message: "\(key) must be True or False") }
                return flag
            }
            return (try flag("norm_obs"), try flag("norm_reward"))
        default:
            throw PythonLiteral.Failure(message: "expected true, false or a dict such as {'norm_obs': True} (got \(value))")
        }
    }
}

/// The Python literals zoo files embed in strings: numbers, True/False/None, quoted strings, dotted names
/// (`nn.Tanh`), lists, `dict(key=value, …)` calls and `{'key': value}` dictionaries.
indirect enum PythonLiteral: Equatable {
    case number(Double)
    case bool(Bool)
    case none
    case string(String)
    case name(String)
    case list([PythonLiteral])
    case dict([String: PythonLiteral])

    struct Failure: Error { let message: String }

    init(config value: ConfigValue) {
        switch value {
        case .null: self = .none
        case .bool(let v): self = .bool(v)
        case .int(let v): self = .number(Double(v))
        case .double(let v): self = .number(v)
        case .string(let v): self = .string(v)
        case .list(let v): self = .list(v.map(PythonLiteral.init(config:)))
        case .mapping(let v): self = .dict(v.mapValues(PythonLiteral.init(config:)))
        }
    }

    /// The value as a config value (names as their text).
    var config: ConfigValue {
        switch self {
        case .number(let v): return v.rounded() == v && abs(v) < 1e15 ? .int(Int(v)) : .double(v)
        case .bool(let v): return .bool(v)
        case .none: return .null
        case .string(let v), .name(let v): return .string(v)
        case .list(let v): return .list(v.map(\.config))
        case .dict(let v): return .mapping(v.mapValues(\.config))
        }
    }

    /// The keyword arguments of `dict(a=1, b=[2, 3])`, in order.
    static func keywordArguments(_ text: String) throws -> [(String, PythonLiteral)] {
        var parser = Parser(text)
        let arguments = try parser.call()
        try parser.end()
        return arguments
    }

    static func parse(_ text: String) throws -> PythonLiteral {
        var parser = Parser(text)
        let value = try parser.value(depth: 0)
        try parser.end()
        return value
    }

    private struct Parser {
        let characters: [Character]
        var position = 0
        static let maximumDepth = 16

        init(_ text: String) { characters = Array(text) }

        mutating func skipSpace() { while position < characters.count, characters[position].isWhitespace { position += 1 } }

        func failure(_ expected: String) -> Failure {
            let rest = String(characters[min(position, characters.count)...].prefix(20))
            return Failure(message: "expected \(expected) at character \(position + 1) (\(rest.isEmpty ? "end of text" : "'\(quotedForMessage(rest))'"))")
        }

        mutating func expect(_ character: Character) throws {
            skipSpace()
            guard position < characters.count, characters[position] == character else { throw failure("'\(character)'") }
            position += 1
        }

        mutating func end() throws {
            skipSpace()
            guard position == characters.count else { throw failure("the end") }
        }

        mutating func identifier() -> String {
            skipSpace()
            let start = position
            while position < characters.count, characters[position].isLetter || characters[position].isNumber
                    || characters[position] == "_" || characters[position] == "." {
                position += 1
            }
            return String(characters[start..<position])
        }

        /// `dict(name=value, …)` (the `dict` already read or not).
        mutating func call(depth: Int = 0) throws -> [(String, PythonLiteral)] {
            guard identifier() == "dict" else { throw failure("dict(...)") }
            return try arguments(depth: depth)
        }

        mutating func arguments(depth: Int) throws -> [(String, PythonLiteral)] {
            try expect("(")
            var result: [(String, PythonLiteral)] = []
            while true {
                skipSpace()
                if position < characters.count, characters[position] == ")" { position += 1; return result }
                let name = identifier()
                guard !name.isEmpty else { throw failure("a keyword argument") }
                try expect("=")
                result.append((name, try value(depth: depth + 1)))
                skipSpace()
                if position < characters.count, characters[position] == "," { position += 1 }
            }
        }

        mutating func value(depth: Int) throws -> PythonLiteral {
            guard depth < Self.maximumDepth else { throw Failure(message: "nested more than \(Self.maximumDepth) levels deep") }
            skipSpace()
            guard position < characters.count else { throw failure("a value") }
            let character = characters[position]
            if character == "[" {
                position += 1
                var items: [PythonLiteral] = []
                while true {
                    skipSpace()
                    if position < characters.count, characters[position] == "]" { position += 1; return .list(items) }
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if position < characters.count, characters[position] == "," { position += 1 }
                    else { try expect("]"); return .list(items) }
                }
            }
            if character == "{" {
                position += 1
                var entries: [String: PythonLiteral] = [:]
                while true {
                    skipSpace()
                    if position < characters.count, characters[position] == "}" { position += 1; return .dict(entries) }
                    guard case .string(let key) = try value(depth: depth + 1) else { throw failure("a quoted key") }
                    try expect(":")
                    entries[key] = try value(depth: depth + 1)
                    skipSpace()
                    if position < characters.count, characters[position] == "," { position += 1 }
                    else { try expect("}"); return .dict(entries) }
                }
            }
            if character == "'" || character == "\"" {
                position += 1
                let start = position
                while position < characters.count, characters[position] != character { position += 1 }
                guard position < characters.count else { throw failure("a closing quote") }
                position += 1
                return .string(String(characters[start..<position - 1]))
            }
            if character.isNumber || character == "-" || character == "+" || character == "." {
                let start = position
                position += 1
                while position < characters.count, characters[position].isNumber || "eE.+-_".contains(characters[position]) {
                    position += 1
                }
                let text = String(characters[start..<position]).replacingOccurrences(of: "_", with: "")
                guard let number = Double(text), number.isFinite else { throw failure("a number") }
                return .number(number)
            }
            let name = identifier()
            switch name {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case "dict": return .dict(Dictionary(try arguments(depth: depth)) { _, last in last })
            case "": throw failure("a value")
            default: return .name(name)
            }
        }
    }
}
