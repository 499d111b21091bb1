import Foundation
import Neural
import Sim
import Testing
import TestSupport
@testable import Training

/// Copies `source` to a fresh folder and rewrites the copy's `checkpoints/last/<file>` through `change`.
func alteredCopy(of source: String, file: String = "state.safetensors", _ change: (inout SafeTensors.File) -> Void) throws -> String {
    let copy = temporaryDirectory("altered")
    try FileManager.default.copyItem(atPath: source, toPath: copy)
    let path = copy + "/checkpoints/last/" + file
    var contents = try SafeTensors.read(from: path)
    change(&contents)
    try SafeTensors.encode(contents).write(to: URL(fileURLWithPath: path))
    return copy
}

extension SafeTensors.File {
    /// Replaces (or adds) tensor `name`, keeping the file order.
    mutating func replace(_ name: String, _ value: SafeTensors.Value) {
        if tensors[name] == nil { names.append(name) }
        tensors[name] = value
    }
    func words(_ name: String) -> [Int64] { if case .int64(_, let values)? = tensors[name] { return values } else { return [] } }
    func floats(_ name: String) -> [Float] { if case .float32(let t)? = tensors[name] { return t.scalars } else { return [] } }
}

func int64s(_ values: [Int64]) -> SafeTensors.Value { .int64(shape: [values.count], values: values) }
func float32s(_ values: [Float]) -> SafeTensors.Value { .float32(Tensor(shape: [values.count], scalars: values)) }

/// Issue 11, finding 1: altered training state (`--resume`) used to overflow buffers (SIGSEGV) or trap. Each case
/// must now be refused with an error naming the file, and leave every file of the run as it was.
@Suite(.serialized) struct HostileStateTests {
    init() { pinBLASToOneThread() }

    /// Resuming `directory` must throw an error naming `expected`, and change no file.
    func expectRefused(_ directory: String, config: RunConfig, naming expected: String, _ comment: Comment) {
        let before = folderSnapshot(directory)
        do {
            _ = try makeTrainer(config: config, directory: directory, resume: true)
            Issue.record("resume accepted an altered state: \(comment)")
        } catch {
            #expect("\(error)".contains(expected), "\(comment): \(error)")
            #expect("\(error)".contains("state.safetensors") || "\(error)".contains("model.safetensors"), "\(comment): \(error)")
        }
        #expect(folderSnapshot(directory) == before, "files changed by a refused resume: \(comment)")
    }

    @Test("DQN: over-long, short or out-of-range tensors in state.safetensors are refused before anything is copied")
    func feedForwardDQNState() throws {
        let run = temporaryDirectory("hostile-dqn")
        _ = try DQNTrainer(config: smallRun(), directory: run).run(stopAt: 1_700)
        let config = smallRun()
        let cases: [(String, String, (inout SafeTensors.File) -> Void)] = [
            ("buffer.rewards", "longer rewards", { $0.replace("buffer.rewards", float32s($0.floats("buffer.rewards") + [Float](repeating: 1, count: 100_000))) }),
            ("buffer.actions", "longer actions", { $0.replace("buffer.actions", int64s($0.words("buffer.actions") + [Int64](repeating: 0, count: 100_000))) }),
            ("env.episode_returns_bits", "longer returns", { $0.replace("env.episode_returns_bits", int64s([Int64](repeating: 0, count: 100_000))) }),
            ("rng.exploration", "a 3-word generator", { $0.replace("rng.exploration", int64s([1, 2, 3])) }),
            ("rng.sampling", "an all-zero generator", { $0.replace("rng.sampling", int64s([0, 0, 0, 0])) }),
            ("buffer.actions", "an action of 2^40", { f in var a = f.words("buffer.actions"); a[3] = 1 << 40; f.replace("buffer.actions", int64s(a)) }),
            ("buffer.actions", "an action outside the space", { f in var a = f.words("buffer.actions"); a[0] = 2; f.replace("buffer.actions", int64s(a)) }),
            ("nstep.counts", "one n-step count", { $0.replace("nstep.counts", int64s([1])) }),
            ("nstep.counts", "an n-step count past n", { f in var c = f.words("nstep.counts"); c[0] = 7; f.replace("nstep.counts", int64s(c)) }),
            ("counters", "a negative step", { f in var c = f.words("counters"); c[0] = -5; f.replace("counters", int64s(c)) }),
            ("counters", "a fill level past capacity", { f in var c = f.words("counters"); c[3] = 1 << 40; f.replace("counters", int64s(c)) }),
            ("buffer.priorities_bits", "a NaN priority", { f in
                var p = f.words("buffer.priorities_bits"); p[0] = Int64(bitPattern: Double.nan.bitPattern); f.replace("buffer.priorities_bits", int64s(p)) }),
            ("env.0", "a NaN cart position", { f in var e = f.words("env.0"); e[e.count - 9] = Int64(bitPattern: Double.nan.bitPattern); f.replace("env.0", int64s(e)) }),
            ("env.episode_lengths", "a negative episode length", { $0.replace("env.episode_lengths", int64s([-1, 3])) }),
            ("recent.returns_bits", "an uneven record", { $0.replace("recent.lengths_bits", int64s([1])) }),
        ]
        for (tensor, description, change) in cases {
            expectRefused(try alteredCopy(of: run, change), config: config, naming: description == "an uneven record" ? "run record" : tensor,
                          "\(tensor): \(description)")
        }
        // The unaltered copy resumes, so the refusals above are about the alterations.
        let intact = try alteredCopy(of: run) { _ in }
        #expect(try makeTrainer(config: config, directory: intact, resume: true).step == 1_700)
    }

    @Test("Recurrent DQN: an episode table or in-progress episode that does not fit is refused")
    func recurrentDQNState() throws {
        let config = smallRecurrentRun()
        let run = temporaryDirectory("hostile-drqn")
        _ = try DQNTrainer(config: config, directory: run).run(stopAt: 700)
        let cases: [(String, (inout SafeTensors.File) -> Void)] = [
            ("episodes.episodes", { f in var t = f.words("episodes.episodes"); t[1] = 10_000; f.replace("episodes.episodes", int64s(t)) }),
            ("episodes.episodes", { f in f.replace("episodes.episodes", int64s(f.words("episodes.episodes") + [0])) }),
            ("episodes.actions", { f in var a = f.words("episodes.actions"); a[0] = 99; f.replace("episodes.actions", int64s(a)) }),
            ("episodes.staging.0.actions", { f in f.replace("episodes.staging.0.actions", int64s(f.words("episodes.staging.0.actions") + [1])) }),
            ("episodes.states", { f in f.replace("episodes.states", float32s([1, 2, 3])) }),
            ("acting.starts", { f in f.replace("acting.starts", int64s([1])) }),
            ("env.1", { f in var e = f.words("env.1"); e[5] = 300; f.replace("env.1", int64s(e)) }),  // the cue code (after TimeLimit's word)
            ("env.0", { f in var e = f.words("env.0"); e[0] = -7; f.replace("env.0", int64s(e)) }),  // TimeLimit's elapsed steps
        ]
        for (tensor, change) in cases {
            // An in-progress episode with one more action no longer matches its observations: either may be named.
            let named = tensor.hasPrefix("episodes.staging.0") ? "episodes.staging.0" : tensor
            expectRefused(try alteredCopy(of: run, change), config: config, naming: named, "\(tensor)")
        }
    }

    @Test("PPO: counters, normalization statistics and model statistics that do not fit are refused")
    func actorCriticState() throws {
        let config = smallActorCriticRun(agent: "ppo", env: "cartpole", steps: 1_024)
        let run = temporaryDirectory("hostile-ppo")
        _ = try makeTrainer(config: config, directory: run).run(progress: nil, stopAt: 512)
        let cases: [(String, String, (inout SafeTensors.File) -> Void)] = [
            ("counters", "state.safetensors", { f in f.replace("counters", int64s([-5, 0])) }),
            ("ret_rms", "state.safetensors", { f in
                var r = f.words("ret_rms"); r[1] = Int64(bitPattern: Double.nan.bitPattern); f.replace("ret_rms", int64s(r)) }),
            ("rng.policy", "state.safetensors", { f in f.replace("rng.policy", int64s([0, 0, 0, 0])) }),
            ("env.observations", "state.safetensors", { f in f.replace("env.observations", float32s([0])) }),
            ("obs_rms", "state.safetensors", { f in f.replace("obs_rms", int64s([0, 0, 0])) }),
            ("obs_rms.var", "model.safetensors", { f in var v = f.floats("obs_rms.var"); v[0] = -1; f.replace("obs_rms.var", float32s(v)) }),
            ("obs_rms.count", "model.safetensors", { f in f.replace("obs_rms.count", float32s([1, 2])) }),
        ]
        for (tensor, file, change) in cases {
            expectRefused(try alteredCopy(of: run, file: file, change), config: config, naming: tensor, "\(tensor)")
        }
    }
}

@Suite struct HostileSafeTensorsTests {
    /// A header whose shape product overflows used to trap in `reduce(1, *)`.
    @Test("A safetensors header with a shape of 2^62 × 4 is an error, not a trap")
    func overflowingShape() {
        let header = #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(Data(count: 16))
        #expect(throws: SafeTensorsError.self) { try SafeTensors.decode(bytes, path: "crafted.safetensors") }
    }
}
