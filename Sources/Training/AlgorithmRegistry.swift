import Foundation
import Neural
import Sim
import Synchronization

/// One hyperparameter of an algorithm as config files, `--set`, the help and the docs show it.
public struct HyperparameterSpec: Sendable {
    /// What a hyperparameter takes; values are converted and checked against it before anything else sees them.
    public enum Kind: Sendable, Equatable {
        case integer
        case number
        /// A number or null (unset).
        case optionalNumber
        case flag
        case choice([String])
        /// Hidden layer sizes: a list of positive integers (`[64, 64]`, or `64,64` on the command line).
        case layers
        /// "auto", "auto_X" (learned, starting at X) or a number: SAC's `ent_coef` and `target_entropy`.
        case autoOrNumber

        var expected: String {
            switch self {
            case .integer: return "a whole number"
            case .number: return "a number"
            case .optionalNumber: return "a number or null"
            case .flag: return "true or false"
            case .choice(let choices): return "one of " + choices.joined(separator: ", ")
            case .layers: return "a list of layer sizes such as [64, 64] (or 64,64)"
            case .autoOrNumber: return "auto, auto_<number> or a number"
            }
        }
    }

    /// Dojo's name (Stable-Baselines3's wherever SB3 has the setting).
    public let name: String
    public let kind: Kind
    /// One line: what it does, with its unit.
    public let summary: String
    /// The name in a Stable-Baselines3 / rl-baselines3-zoo hyperparameter file (`policy_kwargs.net_arch` for a policy
    /// keyword), or nil when SB3 has no counterpart.
    public let sb3: String?
    /// For a number that SB3 may give as a `lin_X` schedule (from X down to 0 over training): the hyperparameter that
    /// holds the schedule's end value.
    public let linearScheduleEnd: String?

    public init(_ name: String, _ kind: Kind, _ summary: String, sb3: String? = nil, linearScheduleEnd: String? = nil) {
        self.name = name
        self.kind = kind
        self.summary = summary
        self.sb3 = sb3
        self.linearScheduleEnd = linearScheduleEnd
    }

    /// The assignments `value` stands for (two for a `lin_X` schedule), normalized to the kind (an integral number for
    /// a number kind becomes a double, `64,64` a list), or a message naming the key, what it takes and what it got.
    func assignments(_ value: ConfigValue) -> Result<[(String, ConfigValue)], HyperparameterProblem> {
        if let end = linearScheduleEnd, case .string(let text) = value, text.hasPrefix("lin_") {
            guard let start = Double(text.dropFirst(4)), start.isFinite else {
                return .failure(HyperparameterProblem(name: name, message: "expected lin_<number> such as lin_0.001 (got \(value))"))
            }
            return .success([(name, .double(start)), (end, .double(0))])
        }
        guard let converted = convert(value) else {
            var message = "expected \(kind.expected) (got \(value))"
            if linearScheduleEnd != nil { message += "; a schedule is written lin_<start>, e.g. lin_0.001" }
            return .failure(HyperparameterProblem(name: name, message: message))
        }
        return .success([(name, converted)])
    }

    private func convert(_ value: ConfigValue) -> ConfigValue? {
        // Numbers written as text (the zoo's `1e5`, which YAML 1.1 reads as a string) count as numbers.
        let parsed: ConfigValue
        if case .string(let text) = value, let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite {
            parsed = .double(number)
        } else {
            parsed = value
        }
        switch kind {
        case .integer:
            return parsed.integer.map { .int($0) }
        case .number:
            return parsed.number.map { .double($0) }
        case .optionalNumber:
            if case .null = parsed { return .null }
            if case .string(let text) = parsed, ["none", "null", "~"].contains(text.lowercased()) { return .null }
            return parsed.number.map { .double($0) }
        case .flag:
            if case .bool(let flag) = parsed { return .bool(flag) }
            if case .string(let text) = parsed, let flag = ["true": true, "false": false][text.lowercased()] { return .bool(flag) }
            return nil
        case .choice(let choices):
            guard case .string(let text) = value, choices.contains(text.lowercased()) else { return nil }
            return .string(text.lowercased())
        case .autoOrNumber:
            if let number = parsed.number { return .double(number) }
            guard case .string(let text) = value else { return nil }
            let lowered = text.lowercased()
            return lowered == "auto" || (lowered.hasPrefix("auto_") && Double(lowered.dropFirst(5)) != nil) ? .string(lowered) : nil
        case .layers:
            switch parsed {
            case .list(let items):
                let sizes = items.compactMap(\.integer)
                return sizes.count == items.count ? .list(sizes.map { .int($0) }) : nil
            case .int(let size):
                return .list([.int(size)])
            case .double:
                return parsed.integer.map { .list([.int($0)]) }
            case .string(let text):
                let parts = text.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",",
                                                                                                  omittingEmptySubsequences: false)
                if parts == [""] { return .list([]) }
                let sizes = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                return sizes.count == parts.count ? .list(sizes.map { .int($0) }) : nil
            default:
                return nil
            }
        }
    }
}

/// A hyperparameter value that does not fit its kind.
struct HyperparameterProblem: Error {
    let name: String
    let message: String
}

/// A training algorithm as the CLI, configs, evaluation and watching see it: its id, its hyperparameters with their
/// defaults, the checks of their values against an environment's spaces, how to make its trainer and how to load a
/// trained policy. Everything that differs between algorithms is here, so adding one is one ``Algorithm`` value and
/// one ``AlgorithmRegistry`` line.
public struct Algorithm: Sendable {
    public let id: String
    public let summary: String
    public let hyperparameters: [HyperparameterSpec]
    /// Every hyperparameter at its default.
    public let defaults: [String: ConfigValue]
    /// Problems of `values` for an environment's observation and action spaces and `copies` environment copies, each
    /// saying what to change.
    let problems: @Sendable (_ values: [String: ConfigValue], _ observationSpace: Space, _ actionSpace: Space, _ copies: Int) -> [String]
    /// The trainer of a checked run config (`resume`: continue from the run directory's last checkpoint).
    let makeTrainer: @Sendable (_ config: RunConfig, _ directory: String, _ resume: Bool) throws -> any Trainer
    /// The policy a checkpoint holds, for evaluation and watching (greedy, or the distribution's mode).
    let loadPolicy: @Sendable (_ config: RunConfig, _ model: SafeTensors.File, _ path: String, _ observationSpace: Space,
                               _ observationKind: ObservationKind, _ actionSpace: Space) throws -> any EvaluationPolicy

    /// An algorithm whose hyperparameters decode into `H` (a `Codable` type whose coding keys are the hyperparameter
    /// names and whose decoder keeps defaults for missing keys).
    public init<H: Codable & Sendable>(
        id: String, summary: String, defaults: H, hyperparameters: [HyperparameterSpec],
        problems: @escaping @Sendable (H, _ observationSpace: Space, _ actionSpace: Space, _ copies: Int) -> [String],
        makeTrainer: @escaping @Sendable (RunConfig, H, _ directory: String, _ resume: Bool) throws -> any Trainer,
        loadPolicy: @escaping @Sendable (RunConfig, H, SafeTensors.File, _ path: String, _ observationSpace: Space,
                                         _ observationKind: ObservationKind, _ actionSpace: Space) throws -> any EvaluationPolicy
    ) {
        self.id = id
        self.summary = summary
        self.hyperparameters = hyperparameters
        let encoded = (try? JSONDecoder().decode([String: ConfigValue].self, from: JSONEncoder().encode(defaults))) ?? [:]
        // Optional hyperparameters left unset are absent from the encoding: they default to null.
        var all: [String: ConfigValue] = [:]
        for spec in hyperparameters {
            guard let value = encoded[spec.name] else { all[spec.name] = .null; continue }
            all[spec.name] = (try? spec.assignments(value).get().first?.1) ?? value
        }
        self.defaults = all
        self.problems = { values, observationSpace, actionSpace, copies in
            do { return problems(try Self.decode(H.self, values), observationSpace, actionSpace, copies) } catch {
                return ["the hyperparameters do not decode: \(error)"]
            }
        }
        self.makeTrainer = { config, directory, resume in
            try makeTrainer(config, try Self.decode(H.self, config.hyperparameters), directory, resume)
        }
        self.loadPolicy = { config, model, path, observationSpace, observationKind, actionSpace in
            try loadPolicy(config, try Self.decode(H.self, config.hyperparameters), model, path, observationSpace, observationKind,
                           actionSpace)
        }
    }

    /// The typed hyperparameters of checked `values` (unset optionals are left out, so they decode as nil).
    static func decode<H: Decodable>(_ type: H.Type, _ values: [String: ConfigValue]) throws -> H {
        try JSONDecoder().decode(H.self, from: JSONEncoder().encode(values.filter { $0.value != .null }))
    }

    public func spec(named name: String) -> HyperparameterSpec? { hyperparameters.first { $0.name == name } }

    public var hyperparameterNames: [String] { hyperparameters.map(\.name) }
}

/// The algorithms `dojo train --agent` knows, in the order the help lists them.
public enum AlgorithmRegistry {
    private static let registered = Mutex<[Algorithm]>([DQNTrainer.algorithm, ActorCriticTrainer.ppo, ActorCriticTrainer.a2c,
                                                                 OffPolicyTrainer.sac, OffPolicyTrainer.td3])

    public static var all: [Algorithm] { registered.withLock { $0 } }
    public static var ids: [String] { all.map(\.id) }

    /// The algorithm a run uses when none is named.
    public static var defaultAlgorithm: Algorithm { all[0] }

    /// The algorithm `id` names, or an error listing the known ones (with a "did you mean").
    public static func named(_ id: String) throws -> Algorithm {
        guard let algorithm = all.first(where: { $0.id == id }) else {
            throw TrainingError.invalidConfig(["unknown agent '\(quotedForMessage(id))'\(Suggestion.hint(for: id, in: ids)); "
                                               + "available: \(ids.joined(separator: ", "))"])
        }
        return algorithm
    }

    /// Adds an algorithm (for extensions and tests); an id already registered is refused.
    public static func register(_ algorithm: Algorithm) throws {
        try registered.withLock { list in
            guard !list.contains(where: { $0.id == algorithm.id }) else {
                throw TrainingError.invalidConfig(["an algorithm with id '\(algorithm.id)' is already registered"])
            }
            list.append(algorithm)
        }
    }

    /// Removes a registered algorithm again (for tests).
    public static func unregister(_ id: String) {
        registered.withLock { $0.removeAll { $0.id == id } }
    }
}

extension AlgorithmRegistry {
    /// `docs/hyperparameters.md`: every algorithm's hyperparameters with kind, default, SB3 name and summary
    /// (generated; a test keeps the committed file equal to it).
    public static func hyperparameterReference() -> String {
        var text = """
            # Hyperparameters

            Generated from the algorithm registry (`Sources/Training/Algorithms.swift`); `swift test` fails when this file
            and the registry differ (regenerate with `DOJO_WRITE_FIXTURES=1 swift test --filter hyperparameterReference`).
            Set them in a config file under the agent's id, with `--set name=value`, or through an rl-baselines3-zoo file
            (`--config ppo.yml`), whose names are the SB3 column. Numbers marked "lin_X" also take SB3's linear schedules.

            """
        for algorithm in all {
            text += "\n## \(algorithm.id)\n\n\(algorithm.summary).\n\n| name | takes | default | SB3 / zoo name | what it does |\n|---|---|---|---|---|\n"
            for spec in algorithm.hyperparameters {
                let value = algorithm.defaults[spec.name].map { $0 == .null ? "unset" : $0.description } ?? ""
                let kind = spec.kind.expected + (spec.linearScheduleEnd != nil ? "; lin_X" : "")
                text += "| `\(spec.name)` | \(kind) | \(value) | \(spec.sb3.map { "`\($0)`" } ?? "—") | \(spec.summary) |\n"
            }
        }
        return text
    }
}
