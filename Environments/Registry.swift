import Foundation
import Sim

/// An environment Dojo can build by name: how to make it, the configurations worth checking and measuring, and (in
/// the environment itself, ``EnvironmentMetadata``) how to show, play and evaluate it. Adding an environment means its
/// file(s), one entry below, and its section in docs/environments.md.
public struct EnvironmentEntry: Sendable {
    public let id: String
    public let summary: String
    public let optionSpecs: [OptionSpec]
    /// Named option sets beside the defaults: every environment test (checker, determinism, no allocation) runs over
    /// the defaults and all of them; `dojo bench envs` measures the `benchmarked` ones.
    public let variants: [EnvironmentVariant]
    /// Builds the environment, wrapped in its time limit (`max_steps`).
    public let make: @Sendable ([String: String]) throws -> any Environment
    /// A random-action stepper of `copies` copies on `threads` threads built with the concrete environment type (so
    /// its loop is specialized for it); returns its `rate(seconds:)`.
    public let makeRandomStepper: @Sendable (_ options: [String: String], _ copies: Int, _ threads: Int) throws -> (Double) -> Double

    /// `make` returns the concrete (wrapped) type; the entry keeps both a type-erased maker and a specialized stepper.
    public init<E: Environment>(id: String, summary: String, optionSpecs: [OptionSpec], variants: [EnvironmentVariant],
                                make: @escaping @Sendable ([String: String]) throws -> E) {
        self.id = id
        self.summary = summary
        self.optionSpecs = optionSpecs
        self.variants = variants
        self.make = { try make($0) }
        makeRandomStepper = { options, copies, threads in
            let stepper = try RandomStepper(copies: copies, threads: threads) { _ in try make(options) }
            return { stepper.rate(seconds: $0) }
        }
    }

    /// The variants, after the defaults (named after the id) unless a variant is the defaults.
    public var configurations: [EnvironmentVariant] {
        (variants.contains { $0.options.isEmpty } ? [] : [EnvironmentVariant(id, [:])]) + variants
    }
}

/// A named set of options for an environment (e.g. "highway-fast-v0": scenario=highway-fast).
public struct EnvironmentVariant: Sendable {
    public let name: String
    public let options: [String: String]
    /// Measured by `dojo bench envs` (and `bench/envs_vs_python.py`, under the same name).
    public let benchmarked: Bool

    public init(_ name: String, _ options: [String: String], benchmarked: Bool = false) {
        self.name = name
        self.options = options
        self.benchmarked = benchmarked
    }
}

/// Every environment by id. `make` checks the options (unknown names and bad values list what is valid) and wraps the
/// environment in its time limit, as Gymnasium's `make` does.
public enum EnvironmentRegistry {
    public static let entries: [EnvironmentEntry] = [
        EnvironmentEntry(id: CartPole.id, summary: "Gymnasium CartPole-v1 dynamics: balance a pole on a cart",
                         optionSpecs: CartPole.optionSpecs,
                         variants: [EnvironmentVariant("cartpole", [:], benchmarked: true),
                                    EnvironmentVariant("cartpole-no-velocity", ["velocity": "false"]),
                                    EnvironmentVariant("cartpole-semi-implicit", ["integrator": "semi-implicit"])]) { options in
            let env = try CartPole(options: options)
            return TimeLimit(env, maxSteps: env.options.int("max_steps"))
        },
        EnvironmentEntry(id: Pendulum.id, summary: "Gymnasium Pendulum-v1 dynamics: swing a rod up with a continuous torque",
                         optionSpecs: Pendulum.optionSpecs,
                         variants: [EnvironmentVariant("pendulum", [:], benchmarked: true),
                                    EnvironmentVariant("pendulum-g9.81", ["g": "9.81"])]) { options in
            let env = try Pendulum(options: options)
            return TimeLimit(env, maxSteps: env.options.int("max_steps"))
        },
        EnvironmentEntry(id: GridWorld.id, summary: "MiniGrid-like maps: walls, goal, lava, keys, doors, mazes, a memory task",
                         optionSpecs: GridWorld.optionSpecs,
                         variants: [EnvironmentVariant("gridworld-four-rooms", ["map": "four-rooms", "observation": "partial"],
                                                       benchmarked: true),
                                    EnvironmentVariant("gridworld-empty-8x8", ["map": "empty", "observation": "partial"],
                                                       benchmarked: true),
                                    // The same view as cell codes (MiniGrid's uint8 image, one code per cell), and the whole
                                    // grid as one-hot planes (4,333 floats) and as codes (362): what writing them costs.
                                    EnvironmentVariant("gridworld-four-rooms-codes",
                                                       ["map": "four-rooms", "observation": "partial", "encoding": "codes"],
                                                       benchmarked: true),
                                    EnvironmentVariant("gridworld-four-rooms-full", ["map": "four-rooms", "observation": "full"],
                                                       benchmarked: true),
                                    EnvironmentVariant("gridworld-four-rooms-full-codes",
                                                       ["map": "four-rooms", "observation": "full", "encoding": "codes"],
                                                       benchmarked: true),
                                    EnvironmentVariant("gridworld-memory-codes", ["map": "memory", "encoding": "codes"]),
                                    EnvironmentVariant("gridworld-empty", ["map": "empty"]),
                                    EnvironmentVariant("gridworld-key-door", ["map": "key-door"]),
                                    EnvironmentVariant("gridworld-lava-slip", ["map": "lava-crossing", "slip": "0.2"]),
                                    EnvironmentVariant("gridworld-maze-9", ["map": "maze", "size": "9"]),
                                    EnvironmentVariant("gridworld-memory", ["map": "memory"])]) { options in
            let env = try GridWorld(options: options)
            return TimeLimit(env, maxSteps: env.maxSteps)
        },
        EnvironmentEntry(id: Highway.id, summary: "highway-env-like driving: IDM/MOBIL traffic, bicycle-model ego, highway or merge",
                         optionSpecs: Highway.optionSpecs,
                         variants: [EnvironmentVariant("highway-v0", ["scenario": "highway"], benchmarked: true),
                                    EnvironmentVariant("highway-fast-v0", ["scenario": "highway-fast"], benchmarked: true),
                                    EnvironmentVariant("merge-v0", ["scenario": "merge"]),
                                    EnvironmentVariant("highway-fast-continuous", ["scenario": "highway-fast", "action": "continuous",
                                                                                   "observation": "flat", "offroad": "terminate"]),
                                    EnvironmentVariant("highway-fast-shuffled", ["scenario": "highway-fast", "order": "shuffled",
                                                                                 "see_behind": "true", "observed_vehicles": "12"]),
                                    EnvironmentVariant("highway-policy-5hz", ["policy_frequency": "5"])]) { options in
            let env = try Highway(options: options)
            return TimeLimit(env, maxSteps: env.maxSteps)
        },
        EnvironmentEntry(id: RobotArm.id, summary: "planar robot arm, rigid-body dynamics: reach a target or push a disc onto it",
                         optionSpecs: RobotArm.optionSpecs,
                         variants: [EnvironmentVariant("arm-reach", ["task": "reach"], benchmarked: true),
                                    EnvironmentVariant("arm-push", ["task": "push"], benchmarked: true),
                                    EnvironmentVariant("arm-discrete-3", ["action": "discrete", "links": "3"]),
                                    EnvironmentVariant("arm-push-5-gravity", ["links": "5", "gravity": "9.81", "task": "push"]),
                                    EnvironmentVariant("arm-reach-goal", ["task": "reach", "goal": "true"]),
                                    EnvironmentVariant("arm-push-goal", ["task": "push", "goal": "true"]),
                                    EnvironmentVariant("arm-reach-goal-dense", ["task": "reach", "goal": "true", "reward": "dense"]),
                                    EnvironmentVariant("arm-push-goal-dense-3", ["task": "push", "goal": "true", "reward": "dense",
                                                                                 "links": "3"])]) { options in
            let env = try RobotArm(options: options)
            return TimeLimit(env, maxSteps: env.maxSteps)
        },
    ]

    public static var ids: [String] { entries.map(\.id) }

    /// The Gymnasium ids of the environments that reproduce a Gymnasium environment, with the Dojo id of each: files
    /// written for the Python ecosystem (rl-baselines3-zoo's hyperparameters) name environments this way.
    public static let gymnasiumIDs: [String: String] = ["CartPole-v1": CartPole.id, "Pendulum-v1": Pendulum.id]

    public static func entry(_ id: String) throws -> EnvironmentEntry {
        guard let entry = entries.first(where: { $0.id == id }) else {
            throw OptionError.unknownEnvironment(name: id, valid: ids)
        }
        return entry
    }

    public static func make(_ id: String, options: [String: String] = [:]) throws -> any Environment {
        try entry(id).make(options)
    }

    /// Rebuilds the environment a replay was recorded on. Relative file paths in its options (a gridworld map) are
    /// taken in `folder`, the replay file's folder; nil keeps them as they are (relative to the working folder).
    public static func make(for replay: Replay, folder: String? = nil) throws -> any Environment {
        let entry = try entry(replay.env)
        guard let folder else { return try entry.make(replay.options) }
        return try entry.make(OptionPaths.resolving(replay.options, specs: entry.optionSpecs, in: folder))
    }
}

extension Replay {
    /// The folder holding the replay file at `path`, where its relative option paths are taken.
    public static func folder(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// Reads a replay of version 1 (no digest) or the current version, re-simulates it on the environment it names
    /// (relative paths taken in `folder`) and returns it as the current version. Throws unless every action fits the
    /// action space and every step verifies; free-form metadata other than `return` is carried over as it is.
    public static func upgrade(from path: String, folder: String?) throws -> Replay {
        var replay = try read(from: path, acceptingVersion1: true)
        switch replay.verify(on: try EnvironmentRegistry.make(for: replay, folder: folder)) {
        case .identical: break
        case .diverged(let step, let detail):
            throw ReplayError.malformed(path: path, detail: "it does not re-simulate: step \(step): \(detail)")
        case .invalid(let detail):
            throw ReplayError.malformed(path: path, detail: detail)
        }
        replay.version = currentVersion
        return replay
    }
}
