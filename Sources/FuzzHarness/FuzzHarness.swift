import Environments
import Foundation
import Neural
import Sim
import Training

// Fuzz harnesses: each function feeds arbitrary bytes to one of Dojo's readers of untrusted files, the same code path
// the CLI uses, or (`c-interface`) through the C interface as a caller would. A reader may throw; it must never trap, crash or read out of bounds. `scripts/fuzz.sh` links these
// into a libFuzzer binary (`Sources/DojoFuzz`); `FuzzCorpusTests` replays the committed corpora and crashers through
// them without a sanitizer, so a crasher once fixed stays fixed.

/// Every fuzz target by the name `scripts/fuzz.sh` and `DOJO_FUZZ_TARGET` use.
public let fuzzTargets: [(name: String, run: @Sendable (Data) -> Void)] = [
    ("map", fuzzMap), ("replay", fuzzReplay), ("safetensors", fuzzSafeTensors), ("config", fuzzConfig),
    ("state", fuzzTrainingState), ("c-interface", fuzzCInterface),
]

/// A scratch folder for this process (maps written for the gridworld, the prepared runs), removed when it exits.
let scratchFolder: String = {
    let path = NSTemporaryDirectory() + "/dojo-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: scratchFolder) }
    return path
}()

/// Reads bytes from the front of an input, returning zeros once it runs out (so every input means something).
struct ByteReader {
    var bytes: [UInt8]
    var position = 0
    init(_ data: Data) { bytes = Array(data) }
    var remaining: Int { bytes.count - position }
    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }
    mutating func word() -> UInt64 { (0..<8).reduce(0) { value, _ in value << 8 | UInt64(byte()) } }
    mutating func rest() -> Data { defer { position = bytes.count }; return Data(bytes[min(position, bytes.count)...]) }
}

// MARK: Gridworld maps

/// A map file's bytes, read as `GridWorld` reads one (1 MB cap, UTF-8); a map that parses is then loaded into a
/// gridworld (full and partial views, random starts) and stepped with actions taken from the bytes.
public func fuzzMap(_ data: Data) {
    guard data.count <= GridWorld.maximumMapFileSize, let text = String(data: data, encoding: .utf8) else { return }
    guard (try? GridMap.parse(text, file: "fuzz.map")) != nil else { return }
    let path = scratchFolder + "/fuzz.map"
    guard (try? data.write(to: URL(fileURLWithPath: path))) != nil else { return }
    var reader = ByteReader(data)
    for options in [["map": path], ["map": path, "observation": "partial", "random_start": "true", "slip": "0.3"]] {
        guard let env = try? EnvironmentRegistry.make(GridWorld.id, options: options) else { continue }
        stepRandomly(env, seed: reader.word(), steps: 64, reader: &reader)
    }
}

/// Resets `env` and steps it with discrete actions read from `reader`, saving and restoring its state once.
func stepRandomly(_ env: any Environment, seed: UInt64, steps: Int, reader: inout ByteReader) {
    var observation = [Float](repeating: 0, count: env.observationSpace.flatCount)
    var action = [Float](repeating: 0, count: env.actionSpace.actionWidth)
    env.reset(seed: seed, observation: &observation)
    let saved = env.saveState()
    for _ in 0..<steps {
        if case .discrete(let n) = env.actionSpace { action[0] = Float(Int(reader.byte()) % n) }
        let result = env.step(action, observation: &observation)
        if result.terminated || result.truncated { env.reset(seed: seed &+ 1, observation: &observation) }
    }
    try? env.restoreState(saved)
}

// MARK: Replays

/// A replay file's bytes through `Replay.decode` (size, shape, digest) and, when it is read, a re-simulation on the
/// environment it names. The digest is not a signature, so the bytes are also decoded without it, re-sealed with
/// the right digest and verified: a crafted file can always carry a matching digest.
public func fuzzReplay(_ data: Data) {
    let folder = scratchFolder
    if let replay = try? Replay.decode(data, path: "fuzz.replay") { verify(replay, folder: folder) }
    guard let unsealed = try? JSONDecoder().decode(Replay.self, from: data), let sealed = try? unsealed.encoded(),
          let replay = try? Replay.decode(sealed, path: "fuzz.replay", acceptingVersion1: true) else { return }
    verify(replay, folder: folder)
}

func verify(_ replay: Replay, folder: String) {
    guard let env = try? EnvironmentRegistry.make(for: replay, folder: folder) else { return }
    if replay.problem(on: env) == nil { _ = replay.verify(on: env) }
    _ = replay.verify(on: env)  // also when a problem was reported: verify must check it again itself
}

// MARK: safetensors

/// A safetensors file's bytes through `SafeTensors.decode`; a file that decodes must encode and decode again to the
/// same names and shapes, and is loaded into a small network the way checkpoints are.
public func fuzzSafeTensors(_ data: Data) {
    guard let file = try? SafeTensors.decode(data, path: "fuzz.safetensors") else { return }
    let again: SafeTensors.File
    do { again = try SafeTensors.decode(SafeTensors.encode(file), path: "re-encoded") } catch {
        fatalError("a decoded safetensors file does not decode after encoding: \(error)")
    }
    precondition(again.names == file.names && again.metadata == file.metadata
                 && file.names.allSatisfy { again.tensors[$0]?.shape == file.tensors[$0]?.shape },
                 "a decoded safetensors file changed in an encode/decode round trip")
    var rng = SeededGenerator(seed: 1)
    let network = Sequential([Linear(inputFeatures: 4, outputFeatures: 8, rng: &rng), BatchNorm(features: 8),
                              Linear(inputFeatures: 8, outputFeatures: 2, rng: &rng)])
    try? network.stateEntries().load(from: file, path: "fuzz.safetensors", strict: false)
    try? network.stateEntries().load(from: file, path: "fuzz.safetensors", strict: true)
}

// MARK: Run configs

/// A config file's bytes merged as `dojo train --config` merges one (over the default config and over a PPO one),
/// and the same bytes read as a run's `config.json` the way `RunConfig.load(run:)` reads it. A config that passes
/// its checks must also build its environment or say why not.
public func fuzzConfig(_ data: Data) {
    guard data.count <= 1 << 20 else { return }
    let base = RunConfig()
    var actorCritic = RunConfig()
    actorCritic.env = CartPole.id
    try? actorCritic.setAgent(ActorCriticTrainer.ppo.id)
    for var config in [base, actorCritic] {
        guard (try? RunRequest.merge(contents: data, path: "fuzz.yaml", into: &config)) != nil else { continue }
        if config.problems().isEmpty { _ = try? EnvironmentRegistry.make(config.env, options: config.envOptions) }
    }
    if let config = try? RunConfig.decode(runConfig: data, run: scratchFolder, path: "fuzz/config.json") {
        _ = try? EnvironmentRegistry.make(config.env, options: config.envOptions)
    }
}

// MARK: Training state (`--resume`)

/// A small trained run kept for the whole fuzzing session: its resumed trainer and its last checkpoint's files.
final class PreparedRun: @unchecked Sendable {
    let trainer: any Trainer
    let restore: (SafeTensors.File, SafeTensors.File) throws -> Void
    let model: SafeTensors.File
    let state: SafeTensors.File
    /// Environment steps one more round of training takes (a few DQN updates, one PPO rollout and update).
    let round: Int

    init(name: String, config: RunConfig, trainedSteps: Int, round: Int) throws {
        let directory = scratchFolder + "/" + name
        try? FileManager.default.removeItem(atPath: directory)
        _ = try makeTrainer(config: config, directory: directory).run(progress: nil, stopAt: trainedSteps)
        let last = directory + "/checkpoints/last"
        model = try SafeTensors.read(from: last + "/model.safetensors")
        state = try SafeTensors.read(from: last + "/state.safetensors")
        let modelPath = last + "/model.safetensors", statePath = last + "/state.safetensors"
        let resumed = try makeTrainer(config: config, directory: directory, resume: true)
        trainer = resumed
        switch resumed {
        case let dqn as DQNTrainer: restore = { try dqn.restore(model: $0, modelPath: modelPath, state: $1, statePath: statePath) }
        case let actorCritic as ActorCriticTrainer:
            restore = { try actorCritic.restore(model: $0, modelPath: modelPath, state: $1, statePath: statePath) }
        case let offPolicy as OffPolicyTrainer:
            restore = { try offPolicy.restore(model: $0, modelPath: modelPath, state: $1, statePath: statePath) }
        default: throw TrainingError.invalidConfig(["the fuzz harness cannot restore a \(config.agent) run"])
        }
        self.round = round
    }

    /// A tiny DQN cart-pole run (prioritized replay, n-step returns, dueling head) after 300 steps.
    static let dqn = tiny(DQNTrainer.algorithm.id, env: CartPole.id, agent: DQNTrainer.algorithm.id, evalFreq: 300, trainedSteps: 300,
                          round: 4, ["buffer_size": .int(400), "learning_starts": .int(100), "batch_size": .int(8),
                                     "net_arch": .list([.int(8)]), "n_step": .int(3), "prioritized_replay": .bool(true),
                                     "dueling": .bool(true), "train_freq": .int(2)])

    /// A tiny PPO cart-pole run (observation and reward normalization) after two rollouts.
    static let ppo = tiny(ActorCriticTrainer.ppo.id, env: CartPole.id, agent: ActorCriticTrainer.ppo.id, evalFreq: 64, trainedSteps: 64,
                          round: 32, ["n_steps": .int(16), "batch_size": .int(16), "n_epochs": .int(1), "net_arch": .list([.int(8)]),
                                      "normalize_observations": .bool(true), "normalize_rewards": .bool(true)])

    /// A tiny DQN four-rooms run: binary observations, so the replay's rows are bits in one zlib stream.
    static let gridworld = tiny("gridworld-dqn", env: GridWorld.id, agent: DQNTrainer.algorithm.id, evalFreq: 200, trainedSteps: 200,
                                round: 8, ["buffer_size": .int(300), "learning_starts": .int(100), "batch_size": .int(4),
                                           "net_arch": .list([.int(4)]), "n_step": .int(2), "train_freq": .int(4)])

    /// A tiny SAC run with hindsight replay and normalized observations on the arm's goal reach.
    static let sac = tiny("sac-her", env: RobotArm.id, options: ["task": "reach", "goal": "true"], agent: OffPolicyTrainer.sac.id,
                          evalFreq: 200, trainedSteps: 200, round: 4,
                          ["buffer_size": .int(300), "learning_starts": .int(100), "batch_size": .int(8), "net_arch": .list([.int(8)]),
                           "replay_buffer_class": .string("HerReplayBuffer"), "normalize_observations": .bool(true)])

    /// A run of two copies of `env` (seed 3, one-episode evaluations every `evalFreq` steps) with `settings`, trained
    /// for `trainedSteps`; nil, with a message, when it cannot be prepared.
    private static func tiny(_ name: String, env: String, options: [String: String] = [:], agent: String, evalFreq: Int,
                             trainedSteps: Int, round: Int, _ settings: [String: ConfigValue]) -> PreparedRun? {
        var config = RunConfig()
        config.env = env; config.envOptions = options; config.totalTimesteps = 100_000; config.nEnvs = 2; config.seed = 3
        config.evalFreq = evalFreq; config.nEvalEpisodes = 1; config.logInterval = max(evalFreq / 2, 1)
        do {
            try config.setAgent(agent)
            try config.set(settings, source: "fuzz harness")
        } catch { return nil }
        return prepared(name, config, trainedSteps: trainedSteps, round: round)
    }

    /// The prepared run a state input's first byte picks: bit 0 and bit 3 (DQN, PPO, gridworld DQN, SAC + HER).
    static func picked(by header: UInt8) -> PreparedRun? {
        switch Int(header & 1) | Int((header >> 2) & 2) {
        case 0: return dqn
        case 1: return ppo
        case 2: return gridworld
        default: return sac
        }
    }

    private static func prepared(_ name: String, _ config: RunConfig, trainedSteps: Int, round: Int) -> PreparedRun? {
        do { return try PreparedRun(name: name, config: config, trainedSteps: trainedSteps, round: round) } catch {
            FileHandle.standardError.write(Data("fuzz: cannot prepare the \(name) run: \(error)\n".utf8))
            return nil
        }
    }
}

/// A `last` checkpoint's state or model file, restored by a resumed trainer (in memory, through the same checks
/// `--resume` runs). The first byte picks the trainer (bits 0 and 3: DQN, PPO, gridworld DQN, SAC with hindsight
/// replay), the file (bit 1: model instead of state) and how the rest is read (bit 2): the file's bytes as they are,
/// or edits to the valid file, since random bytes rarely make a safetensors header. A file that restores is trained
/// on for one more round.
public func fuzzTrainingState(_ data: Data) {
    var reader = ByteReader(data)
    let header = reader.byte()
    guard let run = PreparedRun.picked(by: header) else {
        fatalError("fuzz: the prepared run is missing (see the message above)")
    }
    let fuzzingModel = header & 2 != 0
    var file: SafeTensors.File
    if header & 4 == 0 {
        guard let decoded = try? SafeTensors.decode(reader.rest(), path: "fuzz.safetensors") else { return }
        file = decoded
    } else {
        file = fuzzingModel ? run.model : run.state
        edit(&file, with: &reader)
    }
    let restored = fuzzingModel ? (try? run.restore(file, run.state)) != nil : (try? run.restore(run.model, file)) != nil
    if restored { _ = try? run.trainer.run(progress: nil, stopAt: run.trainer.step + run.round) }
}

/// Applies up to 16 edits read from `reader` to the tensors of `file`: cut, lengthen, overwrite a value, drop,
/// change the dtype, reshape.
func edit(_ file: inout SafeTensors.File, with reader: inout ByteReader) {
    for _ in 0..<16 where reader.remaining > 0 && !file.names.isEmpty {
        let name = file.names[Int(reader.byte()) % file.names.count]
        guard let value = file.tensors[name] else { continue }
        var words: [UInt64]
        switch value {
        case .float32(let tensor): words = tensor.scalars.map { UInt64($0.bitPattern) }
        case .int64(_, let values): words = values.map { UInt64(bitPattern: $0) }
        case .uint8(_, let values): words = values.map { UInt64($0) }
        }
        var dtype = value.dtype
        var shape = [words.count]
        switch reader.byte() % 7 {
        case 0: words = Array(words.prefix(Int(reader.word() % UInt64(words.count + 1))))
        case 1: words += [UInt64](repeating: reader.word(), count: Int(reader.byte()) + 1)
        case 2, 3:
            let index = Int(reader.word() % UInt64(max(words.count, 1)))
            let newValue = reader.word()
            if index < words.count { words[index] = newValue }
        case 4:
            file.names.removeAll { $0 == name }
            file.tensors[name] = nil
            continue
        case 5: dtype = [.float32, .int64, .uint8][Int(reader.byte()) % 3]
        default: shape = reader.byte() & 1 == 0 ? [1, words.count] : [words.count, 1]
        }
        if shape.reduce(1, *) != words.count { shape = [words.count] }
        switch dtype {
        case .float32: file.tensors[name] = .float32(Tensor(shape: shape, scalars: words.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }))
        case .int64: file.tensors[name] = .int64(shape: shape, values: words.map { Int64(bitPattern: $0) })
        case .uint8: file.tensors[name] = .uint8(shape: shape, values: words.map { UInt8(truncatingIfNeeded: $0) })
        }
    }
}

// MARK: Seeds

/// Writes the seeds no committed file provides: the prepared runs' `config.json` for the config target, and their
/// state and model files (raw, and a few edits) for the state target. `corpus` is `fuzz/corpus`.
public func writeSeeds(into corpus: String) throws {
    for (name, run, flag) in [(DQNTrainer.algorithm.id, PreparedRun.dqn, UInt8(0)), (ActorCriticTrainer.ppo.id, PreparedRun.ppo, UInt8(1)),
                              ("gridworld-dqn", PreparedRun.gridworld, UInt8(8)), ("sac-her", PreparedRun.sac, UInt8(9))] {
        guard let run else { throw TrainingError.invalidConfig(["the \(name) run could not be prepared"]) }
        let runConfig = scratchFolder + "/\(name)/config.json"
        try Data(contentsOf: URL(fileURLWithPath: runConfig)).write(to: URL(fileURLWithPath: corpus + "/config/run-\(name).json"))
        func write(_ header: UInt8, _ body: Data, _ file: String) throws {
            try (Data([header]) + body).write(to: URL(fileURLWithPath: corpus + "/state/\(name)-\(file)"))
        }
        try write(flag, SafeTensors.encode(run.state), "state.bin")
        try write(flag | 2, SafeTensors.encode(run.model), "model.bin")
        try write(flag | 4, Data([0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 3, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]), "state-edits.bin")
        try write(flag | 6, Data([1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xc0, 0, 0, 0, 0, 0, 0]), "model-edits.bin")
    }
}
