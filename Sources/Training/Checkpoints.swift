import Foundation
import Neural
import Sim

/// What every run loop offers the CLI: train until the budget, Ctrl-C or `stopAt`, in a run directory.
public protocol Trainer: AnyObject {
    var config: RunConfig { get }
    var directory: String { get }
    /// Environment steps done so far.
    var step: Int { get }
    func run(progress: ProgressReporter?, stopAt: Int?) throws -> TrainingSummary
}

/// A finished run's headline figures.
public struct TrainingSummary: Sendable {
    public let steps: Int
    public let episodes: Int
    public let interrupted: Bool
    public let lastEvaluation: EvaluationResult?
    public let bestEvaluationReturn: Double
}

/// The trainer for `config.agent`: DQN's replay loop or the actor-critic rollout loop.
public func makeTrainer(config: RunConfig, directory: String, resume: Bool = false) throws -> any Trainer {
    config.actorCritic == nil ? try DQNTrainer(config: config, directory: directory, resume: resume)
                              : try ActorCriticTrainer(config: config, directory: directory, resume: resume)
}

/// Checkpoint pieces every trainer shares: the atomic folder writer, the encoding of words and floats, and the
/// vectorized environments' state.
enum Checkpoint {
    /// Writes a checkpoint folder atomically: files go to a temporary folder that then replaces `path`, so a run
    /// killed at any moment leaves either the old checkpoint or the new one.
    static func writeFolder(_ path: String, model: SafeTensors.File, state: SafeTensors.File?, config: RunConfig) throws {
        let manager = FileManager.default
        let temporary = path + ".tmp"
        try? manager.removeItem(atPath: temporary)
        try manager.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        try SafeTensors.write(model, to: temporary + "/model.safetensors")
        if let state { try SafeTensors.write(state, to: temporary + "/state.safetensors") }
        try config.encodedJSON().write(to: URL(fileURLWithPath: temporary + "/config.json"), options: .atomic)
        let old = path + ".old"
        try? manager.removeItem(atPath: old)
        if manager.fileExists(atPath: path) { try manager.moveItem(atPath: path, toPath: old) }
        try manager.moveItem(atPath: temporary, toPath: path)
        try? manager.removeItem(atPath: old)
    }

    static func words(_ values: [UInt64]) -> SafeTensors.Value {
        .int64(shape: [values.count], values: values.map { Int64(bitPattern: $0) })
    }

    static func floats(_ pointer: UnsafePointer<Float>, _ count: Int) -> SafeTensors.Value {
        .float32(Tensor(shape: [count], copying: pointer))
    }

    /// Each copy's environment state, the current observations and the running episode statistics.
    static func save(_ environments: VectorEnvironment<AnyEnvironment>, into file: inout SafeTensors.File) {
        let copies = environments.environments.count, size = environments.observationSize
        for (i, env) in environments.environments.enumerated() { file.append("env.\(i)", words(env.saveState())) }
        file.append("env.observations", floats(environments.observations, copies * size))
        file.append("env.episode_returns_bits", words((0..<copies).map { environments.episodeReturns[$0].bitPattern }))
        file.append("env.episode_lengths", words((0..<copies).map { environments.episodeLengths[$0].stateWord }))
    }

    static func restore(_ environments: VectorEnvironment<AnyEnvironment>, from state: SafeTensors.File, path: String) throws {
        let copies = environments.environments.count, size = environments.observationSize
        for (i, env) in environments.environments.enumerated() {
            try env.restoreState(try state.int64("env.\(i)", path: path).map { UInt64(bitPattern: $0) })
        }
        let observations = try state.float32("env.observations", path: path)
        guard observations.count == copies * size else {
            throw SafeTensorsError.wrongShape(path: path, tensor: "env.observations", expected: [copies * size], found: observations.shape)
        }
        observations.copy(to: environments.observations)
        for (i, bits) in try state.int64("env.episode_returns_bits", path: path).enumerated() {
            environments.episodeReturns[i] = Double(bitPattern: UInt64(bitPattern: bits))
        }
        for (i, length) in try state.int64("env.episode_lengths", path: path).enumerated() {
            environments.episodeLengths[i] = Int(length)
        }
    }

    /// Reads a tensor of saved words back.
    static func words(_ name: String, in state: SafeTensors.File, path: String) throws -> [UInt64] {
        try state.int64(name, path: path).map { UInt64(bitPattern: $0) }
    }

    /// Copies a saved float tensor of exactly `count` values into `pointer`.
    static func floats(_ name: String, in state: SafeTensors.File, path: String, into pointer: UnsafeMutablePointer<Float>,
                       count: Int) throws {
        let tensor = try state.float32(name, path: path)
        guard tensor.count == count else {
            throw SafeTensorsError.wrongShape(path: path, tensor: name, expected: [count], found: tensor.shape)
        }
        tensor.copy(to: pointer)
    }
}
