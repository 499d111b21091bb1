import Foundation
import Testing
import Neural
import Sim
import TestSupport
@testable import Training

/// Writes the hostile-input corpus under `Tests/Fixtures/hostile` (with `DOJO_WRITE_FIXTURES=1`): a small valid base
/// run, then inputs that must each be refused. Kept small: the whole corpus is a few hundred kilobytes.
extension HostileCorpus {
    static func write() throws {
        let manager = FileManager.default
        try? manager.removeItem(atPath: root)
        for folder in ["maps", "replays", "configs", "runconfigs", "models", "states"] {
            try manager.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
        try writeBaseRun()
        try writeMaps()
        try writeReplays()
        try writeConfigs()
        try writeRunConfigs()
        try writeModelsAndStates()
        try writeFlags()
    }

    private static func text(_ contents: String, _ relative: String) throws {
        try Data(contents.utf8).write(to: URL(fileURLWithPath: root + "/" + relative))
    }

    private static func bytes(_ contents: [UInt8], _ relative: String) throws {
        try Data(contents).write(to: URL(fileURLWithPath: root + "/" + relative))
    }

    /// A tiny DQN cart-pole run, stopped at step 400 with a resumable checkpoint and a best one.
    static func baseConfig() -> RunConfig {
        var config = RunConfig()
        config.env = "cartpole"
        config.totalTimesteps = 1_000
        config.evalFreq = 200
        config.nEvalEpisodes = 2
        config.logInterval = 100
        config.dqn.bufferSize = 300
        config.dqn.learningStarts = 100
        config.dqn.batchSize = 16
        config.dqn.netArch = [16]
        config.dqn.nStep = 2
        return config
    }

    private static func writeBaseRun() throws {
        pinBLASToOneThread()
        _ = try DQNTrainer(config: baseConfig(), directory: root + "/run").run(stopAt: 400)
    }

    private static func writeMaps() throws {
        try text("", "maps/empty.txt")
        try text("#####\n#..G#\n#####\n", "maps/no-start.txt")
        try text("#####\n#SSG#\n#####\n", "maps/two-starts.txt")
        try text("#####\n#S..G##\n#####\n", "maps/ragged-rows.txt")
        try text("#####\n#S\u{1B}[31mG#\n#####\n", "maps/escape-sequence.txt")
        try text("#####\n#S..#\n#####\n", "maps/no-goal.txt")
        try text("#######\n#S.####\n####.G#\n#######\n", "maps/unreachable-goal.txt")
        try text("#" + String(repeating: ".", count: 300) + "#\n#S" + String(repeating: ".", count: 298) + "G#\n", "maps/too-wide.txt")
        try text(String(repeating: "#.\n", count: 300) + "SG\n", "maps/too-tall.txt")
        try bytes([0xFF, 0xFE, 0x00, 0x23, 0x53, 0x47, 0x80, 0x81], "maps/not-utf8.txt")
        var rng = SeededGenerator(seed: 99)
        try bytes((0..<512).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, "maps/random-bytes.txt")
        try text("\u{0}\u{0}\u{0}\n\u{0}S G\n", "maps/nul-bytes.txt")
        try text("; only a comment\n", "maps/only-comments.txt")
    }

    private static func writeReplays() throws {
        let source = try Replay.read(from: Fixtures.path("../../replays/cartpole-ppo.replay"))
        func save(_ name: String, _ change: (inout Replay) -> Void) throws {
            var replay = source
            change(&replay)
            try replay.write(to: root + "/replays/" + name)
        }
        try save("action-2.replay") { $0.actions[3] = [2] }
        try save("action-half.replay") { $0.actions[3] = [0.5] }
        try save("action-one-and-a-half.replay") { $0.actions[3] = [1.5] }
        try save("action-minus-one.replay") { $0.actions[0] = [-1] }
        try save("action-1e30.replay") { $0.actions[5] = [1e30] }
        try save("action-width-0.replay") { $0.actionWidth = 0; $0.actions = $0.actions.map { _ in [] } }
        try save("action-width-2.replay") { $0.actionWidth = 2; $0.actions = $0.actions.map { $0 + [0] } }
        try save("return-changed.replay") { $0.metadata["return"] = "9999" }
        try save("terminated-flipped.replay") { $0.terminated.toggle() }
        try save("truncated-removed.replay") { $0.truncated = false }
        try save("terminated-and-truncated.replay") { $0.terminated = true; $0.truncated = true }
        try save("prefix-still-terminated.replay") { r in
            r.actions = Array(r.actions.prefix(10)); r.rewards = Array(r.rewards.prefix(10)); r.checksums = Array(r.checksums.prefix(10))
            r.observations = r.observations.map { Array($0.prefix(11)) }
        }
        try save("zero-steps-terminated.replay") { r in
            r.actions = []; r.rewards = []; r.checksums = []; r.observations = r.observations.map { Array($0.prefix(1)) }; r.terminated = true
        }
        try save("fake-observations.replay") { r in r.observations = (0...r.actions.count).map { _ in [0, 0, 0, 0] } }
        try save("seed-not-a-number.replay") { $0.seed = "abc" }
        try save("unknown-environment.replay") { $0.env = "pong" }
        try save("map-outside.replay") { $0.env = "gridworld"; $0.options = ["map": "../../../../etc/passwd"] }
        let valid = try String(contentsOfFile: Fixtures.path("../../replays/cartpole-ppo.replay"), encoding: .utf8)
        try text(String(valid.prefix(valid.count / 2)), "replays/truncated.replay")
        try text(valid.replacingOccurrences(of: "\"version\":2", with: "\"version\":3"), "replays/version-3.replay")
        var flipped = Array(valid.utf8)
        let metadata = try #require(valid.range(of: "\"metadata\":{\""))
        flipped[valid.utf8.distance(from: valid.startIndex, to: metadata.upperBound) + 1] ^= 0x01  // a key inside the metadata
        try bytes(flipped, "replays/bit-flip-in-metadata.replay")
        try text("not json at all\n", "replays/not-json.replay")
        try text("", "replays/empty.replay")
        try text(String(repeating: "[", count: 20_000), "replays/deep-nesting.replay")
    }

    private static func writeConfigs() throws {
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<9 { bomb += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n" }
        try text(bomb + "dqn:\n  net_arch: *a8\n", "configs/alias-bomb.yaml")
        try text("- just\n- a list\n", "configs/not-a-mapping.yaml")
        try text("total_timesteps: 100\nlearnin_rate: 0.1\n", "configs/unknown-key.yaml")
        try text("dqn:\n  batch_size: many\n", "configs/wrong-type.yaml")
        try text("dqn:\n  buffer_size: 1000000000000\n", "configs/huge-buffer.yaml")
        try text("dqn:\n  net_arch: [100000000]\n", "configs/huge-layer.yaml")
        try text("dqn:\n  net_arch: [0]\n", "configs/zero-layer.yaml")
        try text("dqn:\n  learning_rate: .nan\n", "configs/nan-learning-rate.yaml")
        try text("agent: bogus\n", "configs/unknown-agent.yaml")
        try text("n_envs: 0\n", "configs/zero-envs.yaml")
        try text("total_timesteps: 100000000000000000000\n", "configs/overflowing-steps.yaml")
        try text("{\"dqn\": {\"net_arch\": [" + Array(repeating: "1", count: 100_001).joined(separator: ",") + "]}}", "configs/long-net-arch.json")
        try text(String(repeating: "[", count: 50_000), "configs/deep-nesting.yaml")
        try bytes([0x00, 0xFF, 0x10, 0x80], "configs/binary.yaml")
        try text("env: gridworld\nenv_options:\n  map: /dev/zero\n", "configs/map-dev-zero.yaml")
    }

    private static func writeRunConfigs() throws {
        let base = try String(contentsOfFile: root + "/run/config.json", encoding: .utf8)
        func variant(_ name: String, _ from: String, _ to: String) throws {
            precondition(base.contains(from), "base config lacks \(from)")
            try text(base.replacingOccurrences(of: from, with: to), "runconfigs/" + name)
        }
        try variant("net-arch-zero.json", "\"net_arch\" : [\n      16\n    ]", "\"net_arch\" : [0]")
        try variant("net-arch-negative.json", "\"net_arch\" : [\n      16\n    ]", "\"net_arch\" : [-3]")
        try variant("net-arch-huge.json", "\"net_arch\" : [\n      16\n    ]", "\"net_arch\" : [100000000]")
        try variant("lstm-hidden-zero.json", "\"encoder\" : \"mlp\"", "\"encoder\" : \"lstm\", \"lstm_hidden\" : 0")
        try variant("learning-rate-negative.json", "\"learning_rate\" : 0.0001", "\"learning_rate\" : -1")
        try variant("batch-size-huge.json", "\"batch_size\" : 16", "\"batch_size\" : 1000000000000")
        try variant("activation-bogus.json", "\"activation_fn\" : \"relu\"", "\"activation_fn\" : \"bogus\"")
        try variant("encoder-bogus.json", "\"encoder\" : \"mlp\"", "\"encoder\" : \"bogus\"")
        try variant("agent-bogus.json", "\"agent\" : \"dqn\"", "\"agent\" : \"bogus\"")
        try variant("envs-zero.json", "\"n_envs\" : 1", "\"n_envs\" : 0")
        try variant("env-unknown.json", "\"env\" : \"cartpole\"", "\"env\" : \"pong\"")
        try variant("buffer-huge.json", "\"buffer_size\" : 300", "\"buffer_size\" : 1000000000000")
        try text("{", "runconfigs/truncated.json")
        try text("[1, 2, 3]", "runconfigs/not-an-object.json")
        try text("", "runconfigs/empty.json")
    }

    private static func writeModelsAndStates() throws {
        let modelPath = root + "/run/checkpoints/last/model.safetensors", statePath = root + "/run/checkpoints/last/state.safetensors"
        let model = try SafeTensors.read(from: modelPath), state = try SafeTensors.read(from: statePath)
        func save(_ file: SafeTensors.File, _ relative: String, _ change: (inout SafeTensors.File) -> Void) throws {
            var altered = file
            change(&altered)
            try SafeTensors.encode(altered).write(to: URL(fileURLWithPath: root + "/" + relative))
        }
        let original = try Data(contentsOf: URL(fileURLWithPath: modelPath))
        try bytes(Array(original.prefix(original.count / 2)), "models/truncated.safetensors")
        try bytes(Array(original.prefix(6)), "models/six-bytes.safetensors")
        var header = withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Array($0) }
        header += Array(original.dropFirst(8))
        try bytes(header, "models/huge-header-length.safetensors")
        let overflow = #"{"q_net.0.weight":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#
        try bytes(withUnsafeBytes(of: UInt64(overflow.utf8.count).littleEndian) { Array($0) } + Array(overflow.utf8) + [UInt8](repeating: 0, count: 16),
                  "models/overflowing-shape.safetensors")
        let firstWeight = model.names.first { $0.hasPrefix("q_net.") && $0.hasSuffix("weight") } ?? model.names[0]
        try save(model, "models/nan-weights.safetensors") { f in
            if case .float32(let t)? = f.tensors[firstWeight] {
                var values = t.scalars; values[0] = .nan
                f.tensors[firstWeight] = .float32(Tensor(shape: t.shape, scalars: values))
            }
        }
        try save(model, "models/wrong-shape.safetensors") { f in f.tensors[firstWeight] = .float32(Tensor(shape: [3], scalars: [1, 2, 3])) }
        try save(model, "models/wrong-dtype.safetensors") { f in f.tensors[firstWeight] = .int64(shape: [1], values: [1]) }
        try save(model, "models/missing-tensor.safetensors") { f in f.tensors[firstWeight] = nil; f.names.removeAll { $0 == firstWeight } }

        func words(_ f: SafeTensors.File, _ name: String) -> [Int64] { if case .int64(_, let v)? = f.tensors[name] { return v } else { return [] } }
        func floats(_ f: SafeTensors.File, _ name: String) -> [Float] { if case .float32(let t)? = f.tensors[name] { return t.scalars } else { return [] } }
        func put(_ f: inout SafeTensors.File, _ name: String, _ values: [Int64]) { f.tensors[name] = .int64(shape: [values.count], values: values) }
        try save(state, "states/rewards-longer.safetensors") { f in
            let values = floats(f, "buffer.rewards") + [Float](repeating: 1, count: 20_000)
            f.tensors["buffer.rewards"] = .float32(Tensor(shape: [values.count], scalars: values))
        }
        try save(state, "states/actions-longer.safetensors") { f in put(&f, "buffer.actions", words(f, "buffer.actions") + [Int64](repeating: 0, count: 20_000)) }
        try save(state, "states/returns-longer.safetensors") { f in put(&f, "env.episode_returns_bits", [Int64](repeating: 0, count: 20_000)) }
        try save(state, "states/rng-three-words.safetensors") { f in put(&f, "rng.exploration", [1, 2, 3]) }
        try save(state, "states/rng-all-zero.safetensors") { f in put(&f, "rng.sampling", [0, 0, 0, 0]) }
        try save(state, "states/action-2-to-the-40.safetensors") { f in var a = words(f, "buffer.actions"); a[0] = 1 << 40; put(&f, "buffer.actions", a) }
        try save(state, "states/nstep-counts-one-value.safetensors") { f in put(&f, "nstep.counts", [1]) }
        try save(state, "states/rows-beyond-written.safetensors") { f in var r = words(f, "buffer.rows"); r[2] = r[0] + 5; put(&f, "buffer.rows", r) }
        try save(state, "states/nstep-rows-evicted.safetensors") { f in put(&f, "nstep.rows", [Int64](repeating: 0, count: words(f, "nstep.rows").count)) }
        try save(state, "states/negative-step.safetensors") { f in var c = words(f, "counters"); c[0] = -5; put(&f, "counters", c) }
        try save(state, "states/env-nan.safetensors") { f in
            var e = words(f, "env.0"); e[1] = Int64(bitPattern: Double.nan.bitPattern); put(&f, "env.0", e)
        }
        try save(state, "states/env-too-short.safetensors") { f in put(&f, "env.0", [1]) }
        try save(state, "states/counters-missing.safetensors") { f in f.tensors["counters"] = nil; f.names.removeAll { $0 == "counters" } }
        try bytes(Array(try Data(contentsOf: URL(fileURLWithPath: statePath)).prefix(100)), "states/truncated.safetensors")
    }

    private static func writeFlags() throws {
        let lines = [
            "# One command per line, run through the binary; every one must be refused with a message.",
            "rollout cartpole --option state=1e39,0,0,0 --json",
            "rollout cartpole --option state=nan,0,0,0 --json",
            "rollout cartpole --option max_steps=-1",
            "rollout cartpole --option colour=red",
            "rollout gridworld --option map=/dev/zero",
            "rollout gridworld --option map=/",
            "rollout gridworld --option map=/nonexistent/map.txt",
            "rollout pong",
            "rollout cartpole --random -3",
            "render gridworld --option size=100000 --out /tmp/dojo-hostile-never.png",
            "render cartpole --out /nonexistent/folder/x.png",
            "train cartpole --set buffer_size=1000000000000 --out /tmp/dojo-hostile-never",
            "train cartpole --set net_arch=[100000000] --out /tmp/dojo-hostile-never",
            "train cartpole --set learning_rate=-1 --out /tmp/dojo-hostile-never",
            "train cartpole --set learning_rate=.nan --out /tmp/dojo-hostile-never",
            "train cartpole --agent ppo --set log_std_init=1e30 --out /tmp/dojo-hostile-never",
            "train cartpole --agent ppo --set rms_prop_eps=-1 --out /tmp/dojo-hostile-never",
            "train cartpole --agent ppo --set n_steps=4611686018427387904 --out /tmp/dojo-hostile-never",
            "train cartpole --set learning_rat=1e-3 --out /tmp/dojo-hostile-never",
            "train cartpole --set net_arch=[a --out /tmp/dojo-hostile-never",
            "train cartpole --set =5 --out /tmp/dojo-hostile-never",
            "train cartpole --agent bogus --out /tmp/dojo-hostile-never",
            "train cartpole --steps -5",
            "train cartpole --steps 99999999999999999999",
            "train cartpole --envs 0",
            "train cartpole --envs 100000",
            "train cartpole --seed -1",
            "train --preset pong-dqn",
            "train --config /dev/zero --out /tmp/dojo-hostile-never",
            "train --config /nonexistent.yaml --out /tmp/dojo-hostile-never",
            "eval /nonexistent-run",
            "eval /tmp --episodes 0",
            "replay /dev/zero --verify",
            "replay /nonexistent.replay --verify",
            "replay / --verify",
            "watch cartpole --agent random --headless --frames /tmp/dojo-hostile-frames --fps nan",
            "watch cartpole --agent random --headless --video /nonexistent/folder/x.mp4",
            "watch cartpole --agent random --headless --video /tmp/dojo-hostile-x.mp4 --fps=-5",
            "watch cartpole --agent bogus --headless --frames /tmp/dojo-hostile-frames",
            "bench nn --only nothing",
        ]
        try text(lines.joined(separator: "\n") + "\n", "flags.txt")
    }
}
