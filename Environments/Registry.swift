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

    public static func entry(_ id: String) throws -> EnvironmentEntry {
        guard let entry = entries.first(where: { $0.id == id }) else {
            throw OptionError.unknownEnvironment(name: id, valid: ids)
        }
        return entry
    }

    public static func make(_ id: String, options: [String: String] = [:]) throws -> any Environment {
        try entry(id).make(options)
    }

    /// Rebuilds the environment a replay was recorded on.
    public static func make(for replay: Replay) throws -> any Environment {
        try make(replay.env, options: replay.options)
    }
}
