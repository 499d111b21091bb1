import Environments
import Foundation
import Sim
import Training

// The policy half of include/dojo.h: a trained run's policy, computed by Dojo's own networks, for other languages.

/// A run directory's policy behind a C handle (as `dojo eval` loads it: the greedy Q-network, or the actor-critic's
/// most likely action with the run's observation statistics).
final class PolicyHandle: CHandle, @unchecked Sendable {
    let run: TrainedRun
    let description: UnsafeMutablePointer<CChar>
    let lock = NSLock()
    let observationSize: Int
    let actionWidth: Int
    /// A recurrent policy keeps a memory between calls, so it acts for one episode (one row) at a time.
    let recurrent: Bool

    init(directory: String, checkpoint: String) throws {
        run = try TrainedRun(directory: directory, checkpoint: checkpoint)
        let env = try EnvironmentRegistry.make(run.config.env, options: run.config.envOptions)
        observationSize = env.observationSpace.flatCount
        actionWidth = env.actionSpace.actionWidth
        recurrent = run.policy.hiddenState != nil
        description = try jsonCString([
            "run": directory, "checkpoint": checkpoint, "env": run.config.env, "options": env.options.values,
            "algorithm": run.config.algorithm.id, "observation_size": observationSize, "action_width": actionWidth,
            "recurrent": recurrent, "observation": spaceJSON(env.observationSpace), "action": spaceJSON(env.actionSpace),
        ] as [String: Any])
        run.policy.beginEpisode()
    }

    deinit { free(description) }
}

let policies = HandleTable<PolicyHandle>(kind: "policy", maker: "dojo_policy_load")

@_cdecl("dojo_policy_load")
public func dojo_policy_load(_ runDirectory: UnsafePointer<CChar>?, _ checkpoint: UnsafePointer<CChar>?) -> OpaquePointer? {
    guarded(nil) {
        let directory = try text(runDirectory, "run_directory")
        let name = try checkpoint.map { try text($0, "checkpoint") } ?? "best"
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw InterfaceError("checkpoint \(quotedForMessage(name)) must name a folder of \(directory)/checkpoints (\"best\", \"last\" or a step)")
        }
        return try policies.insert(try PolicyHandle(directory: directory, checkpoint: name))
    }
}

@_cdecl("dojo_policy_destroy")
public func dojo_policy_destroy(_ policy: OpaquePointer?) { policies.remove(policy) }

@_cdecl("dojo_policy_describe")
public func dojo_policy_describe(_ policy: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try policies.find(policy).description) }
}

@_cdecl("dojo_policy_begin_episode")
public func dojo_policy_begin_episode(_ policy: OpaquePointer?) -> Int32 {
    policies.with(policy, -1) { handle in
        handle.run.policy.beginEpisode()
        return 0
    }
}

@_cdecl("dojo_policy_act")
public func dojo_policy_act(_ policy: OpaquePointer?, _ observations: UnsafePointer<Float>?, _ observationsCount: Int64,
                            _ actions: UnsafeMutablePointer<Float>?, _ actionsCount: Int64, _ rows: Int32) -> Int32 {
    policies.with(policy, -1) { handle in
        guard let observations, let actions else { throw InterfaceError("observations and actions must not be NULL") }
        guard rows >= 1, rows <= 1 << 20 else { throw InterfaceError("rows must be in 1...1048576 (got \(rows))") }
        guard !handle.recurrent || rows == 1 else {
            throw InterfaceError("this policy is recurrent: it remembers the episode so far, so it acts on one observation per call")
        }
        let count = Int(rows)
        try checkCount(observationsCount, count * handle.observationSize, "observations")
        try checkCount(actionsCount, count * handle.actionWidth, "actions")
        if let row = (0..<count * handle.observationSize).first(where: { !observations[$0].isFinite }).map({ $0 / handle.observationSize }) {
            throw InterfaceError("observation row \(row) holds a value that is not finite")
        }
        for row in 0..<count {
            handle.run.policy.act(observations + row * handle.observationSize, into: actions + row * handle.actionWidth)
        }
        return 0
    }
}
