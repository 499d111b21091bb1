import Foundation
import Sim

/// An environment Dojo can build by name.
public struct EnvironmentEntry: Sendable {
    public let id: String
    public let summary: String
    public let optionSpecs: [OptionSpec]
    /// Builds the environment, wrapped in its time limit (`max_steps`).
    public let make: @Sendable ([String: String]) throws -> any Environment
}

/// Every environment by id. `make` checks the options (unknown names and bad values list what is valid) and wraps the
/// environment in its time limit, as Gymnasium's `make` does.
public enum EnvironmentRegistry {
    public static let entries: [EnvironmentEntry] = [
        EnvironmentEntry(id: "cartpole", summary: "Gymnasium CartPole-v1 dynamics: balance a pole on a cart",
                         optionSpecs: CartPole.optionSpecs) { options in
            let env = try CartPole(options: options)
            return TimeLimit(env, maxSteps: env.options.int("max_steps"))
        },
        EnvironmentEntry(id: "gridworld", summary: "MiniGrid-like maps: walls, goal, lava, keys, doors, mazes, a memory task",
                         optionSpecs: GridWorld.optionSpecs) { options in
            let env = try GridWorld(options: options)
            return TimeLimit(env, maxSteps: env.maxSteps)
        },
        EnvironmentEntry(id: "highway", summary: "highway-env-like driving: IDM/MOBIL traffic, bicycle-model ego, highway or merge",
                         optionSpecs: Highway.optionSpecs) { options in
            let env = try Highway(options: options)
            return TimeLimit(env, maxSteps: env.maxSteps)
        },
        EnvironmentEntry(id: "arm", summary: "planar robot arm, rigid-body dynamics: reach a target or push a disc onto it",
                         optionSpecs: RobotArm.optionSpecs) { options in
            let env = try RobotArm(options: options)
            return TimeLimit(env, maxSteps: env.maxSteps)
        },
    ]

    public static var ids: [String] { entries.map(\.id) }

    /// The Gymnasium ids of the environments that reproduce a Gymnasium environment, with the Dojo id of each: files
    /// written for the Python ecosystem (rl-baselines3-zoo's hyperparameters) name environments this way.
    public static let gymnasiumIDs: [String: String] = ["CartPole-v1": "cartpole"]

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
