import Agents
import Environments
import Foundation
import Neural
import Sim
import Testing
import TestSupport
import Synchronization
@testable import Training

func temporaryDirectory(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("dojo-\(name)-\(UUID().uuidString)").path
}

/// A small but complete DQN run on cart-pole that exercises every option (vector env, n-step, prioritized replay,
/// Double DQN, dueling, Polyak updates).
func smallRun(steps: Int = 3_000) -> RunConfig {
    var config = RunConfig()
    config.env = "cartpole"
    config.totalTimesteps = steps
    config.nEnvs = 2
    config.seed = 11
    config.evalFreq = 1_000
    config.nEvalEpisodes = 2
    config.logInterval = 500
    config.dqn.bufferSize = 2_000
    config.dqn.learningStarts = 200
    config.dqn.batchSize = 32
    config.dqn.netArch = [32, 32]
    config.dqn.nStep = 3
    config.dqn.prioritizedReplay = true
    config.dqn.doubleQ = true
    config.dqn.dueling = true
    config.dqn.tau = 0.5
    config.dqn.targetUpdateInterval = 100
    return config
}

/// A small recurrent DQN run (LSTM) on the memory task.
func smallRecurrentRun() -> RunConfig {
    var config = RunConfig()
    config.env = "gridworld"
    config.envOptions = ["map": "memory", "max_steps": "40"]
    config.totalTimesteps = 2_000
    config.nEnvs = 2
    config.seed = 5
    config.evalFreq = 1_000
    config.nEvalEpisodes = 2
    config.logInterval = 500
    config.dqn.encoder = "lstm"
    config.dqn.bufferSize = 3_000
    config.dqn.learningStarts = 300
    config.dqn.batchSize = 8
    config.dqn.netArch = [16]
    config.dqn.lstmHidden = 8
    config.dqn.sequenceLength = 12
    config.dqn.burnIn = 3
    return config
}

func fileBytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

@Suite(.serialized) struct DQNTrainingTests {
    init() { pinBLASToOneThread() }

    @Test("Two runs with the same seed and config give bitwise-identical checkpoints and metrics")
    func determinism() throws {
        let a = temporaryDirectory("a"), b = temporaryDirectory("b")
        _ = try DQNTrainer(config: smallRun(), directory: a).run()
        _ = try DQNTrainer(config: smallRun(), directory: b).run()
        for file in ["checkpoints/last/model.safetensors", "checkpoints/last/state.safetensors", "checkpoints/best/model.safetensors",
                     "best_episode.replay"] {
            #expect(fileBytes("\(a)/\(file)") != nil)
            #expect(fileBytes("\(a)/\(file)") == fileBytes("\(b)/\(file)"), "\(file) differs")
        }
        #expect(try metricsTableWithoutTiming(a) == metricsTableWithoutTiming(b))
        var other = smallRun()
        other.seed = 12
        let c = temporaryDirectory("c")
        _ = try DQNTrainer(config: other, directory: c).run()
        #expect(fileBytes("\(a)/checkpoints/last/model.safetensors") != fileBytes("\(c)/checkpoints/last/model.safetensors"))
    }

    @Test("Stopping and resuming gives the same final checkpoint as an uninterrupted run")
    func killAndResume() throws {
        let straight = temporaryDirectory("straight"), interrupted = temporaryDirectory("interrupted")
        _ = try DQNTrainer(config: smallRun(), directory: straight).run()
        let first = try DQNTrainer(config: smallRun(), directory: interrupted).run(stopAt: 1_700)
        #expect(first.interrupted && first.steps == 1_700)
        // A fresh process: everything is rebuilt from the run directory.
        let resumed = try DQNTrainer(config: smallRun(), directory: interrupted, resume: true)
        #expect(resumed.step == 1_700)
        _ = try resumed.run()
        for file in ["checkpoints/last/model.safetensors", "checkpoints/last/state.safetensors"] {
            #expect(fileBytes("\(straight)/\(file)") == fileBytes("\(interrupted)/\(file)"), "\(file) differs after resume")
        }
        // The logs hold one header and the same rows as the uninterrupted run's: 6 training rows, 3 evaluations; the
        // row after the stop (step 2,000) averages the loss over 1,500–2,000 in both (the running sum is checkpointed).
        let (straightTable, resumedTable) = (try metricsTableWithoutTiming(straight), try metricsTableWithoutTiming(interrupted))
        let loss = try #require(straightTable.first?.firstIndex(of: "loss"))
        for table in [straightTable, resumedTable] { #expect(table.count == 10 && table[5][0] == "2000" && !table[5][loss].isEmpty) }
        #expect(straightTable == resumedTable, "\(zip(straightTable, resumedTable).filter { $0 != $1 })")
        let lines = try metricsLines(interrupted)
        #expect(lines.count == 3_000 / 500 + 3 && lines.filter { $0["eval_return_mean"] != nil }.count == 3, "\(lines.count) lines")
    }

    @Test("Recurrent DQN: stopping and resuming gives the same final checkpoint as an uninterrupted run")
    func recurrentKillAndResume() throws {
        let config = smallRecurrentRun()
        let straight = temporaryDirectory("rstraight"), interrupted = temporaryDirectory("rinterrupted")
        _ = try DQNTrainer(config: config, directory: straight).run()
        _ = try DQNTrainer(config: config, directory: interrupted).run(stopAt: 1_300)
        _ = try DQNTrainer(config: config, directory: interrupted, resume: true).run()
        for file in ["checkpoints/last/model.safetensors", "checkpoints/last/state.safetensors"] {
            #expect(fileBytes("\(straight)/\(file)") != nil)
            #expect(fileBytes("\(straight)/\(file)") == fileBytes("\(interrupted)/\(file)"), "\(file) differs after resume")
        }
    }

    @Test("Learning smoke test: DQN solves the empty 8×8 gridworld within 2% of the optimal return")
    func learnsEmptyRoom() throws {
        var config = RunConfig()
        config.env = "gridworld"
        config.envOptions = ["map": "empty", "max_steps": "100"]
        config.totalTimesteps = 6_000
        config.evalFreq = 3_000
        config.nEvalEpisodes = 3
        config.dqn.learningRate = 1e-3
        config.dqn.bufferSize = 6_000
        config.dqn.learningStarts = 500
        config.dqn.batchSize = 32
        config.dqn.targetUpdateInterval = 250
        config.dqn.explorationFraction = 0.4
        config.dqn.netArch = [32]
        config.dqn.nStep = 3
        let directory = temporaryDirectory("empty")
        let summary = try DQNTrainer(config: config, directory: directory).run()
        let optimal = 1 - 0.9 * 10 / 100.0  // 10 moves, max_steps 100
        let evaluation = try #require(summary.lastEvaluation)
        #expect(evaluation.successRate == 1)
        #expect(evaluation.meanReturn >= 0.98 * optimal, "return \(evaluation.meanReturn), optimal \(optimal)")
    }

    @Test("A stop request (what Ctrl-C sets for every run) saves a resumable checkpoint and stops")
    func interrupt() throws {
        let directory = temporaryDirectory("interrupt")
        do {  // the trainer owns (locks) the run directory until it is released
            let trainer = try DQNTrainer(config: smallRun(), directory: directory)
            _ = try trainer.run(stopAt: 600)
            // This trainer's own request: setting the process-wide flag would also stop the tests running beside it.
            trainer.requestStop()
            let summary = try trainer.run()
            #expect(summary.interrupted && summary.steps == 600)
        }
        let resumed = try DQNTrainer(config: smallRun(), directory: directory, resume: true)
        #expect(resumed.step == 600)
    }

    @Test("learning_rate_end decays the learning rate linearly over training")
    func learningRateDecay() throws {
        var config = smallRun()
        config.dqn.learningRate = 1e-3
        config.dqn.learningRateEnd = 1e-5
        let trainer = try DQNTrainer(config: config, directory: temporaryDirectory("lr"))
        _ = try trainer.run(stopAt: 1_500)
        // At step 1,500 of 3,000 the rate is halfway: 1e-3 + 0.5 · (1e-5 − 1e-3), give or take the last update's step.
        #expect(abs(Double(trainer.optimizer.learningRate) - 5.05e-4) < 2e-5)
        _ = try trainer.run()
        #expect(abs(Double(trainer.optimizer.learningRate) - 1e-5) < 2e-5)
    }

    @Test("Divergence stops the run with a clear error and keeps the last good checkpoint")
    func divergence() throws {
        var config = smallRun()
        config.dqn.learningRate = 1e30
        config.evalFreq = 100
        let directory = temporaryDirectory("diverge")
        do {
            _ = try DQNTrainer(config: config, directory: directory).run()
            Issue.record("a learning rate of 1e30 did not diverge")
        } catch let TrainingError.diverged(step, detail) {
            #expect(step > config.dqn.learningStarts)
            #expect(detail.contains("nan") || detail.contains("inf"))
        }
        let model = try SafeTensors.read(from: "\(directory)/checkpoints/last/model.safetensors")
        for name in model.names {
            if case .float32(let tensor) = model.tensors[name]! { #expect(tensor.scalars.allSatisfy { $0.isFinite }, "\(name)") }
        }
    }

    @Test("Invalid settings are rejected before training with what to change")
    func validation() throws {
        var config = smallRun()
        config.dqn.learningRate = -1
        config.dqn.batchSize = 5_000
        config.nEnvs = 0
        do {
            _ = try DQNTrainer(config: config, directory: temporaryDirectory("bad"))
            Issue.record("accepted an invalid config")
        } catch let TrainingError.invalidConfig(problems) {
            #expect(problems.contains { $0.contains("learning_rate must be positive") })
            #expect(problems.contains { $0.contains("batch_size (5000) must be between 1 and buffer_size (2000)") })
            #expect(problems.contains { $0.contains("n_envs") })
        }
        #expect(throws: TrainingError.unknownPreset("cartpole-sac", valid: Presets.names)) {
            var request = RunRequest()
            request.preset = "cartpole-sac"
            _ = try request.resolve()
        }
        var request = RunRequest()
        request.environment = "cartpole"
        request.overrides = ["learning_rate=0.01", "net_arch=[8, 8]", "dqn.double_q=true", "total_timesteps=123"]
        let resolved = try request.resolve()
        #expect(resolved.preset == "cartpole-dqn" && resolved.dqn.learningRate == 0.01 && resolved.dqn.netArch == [8, 8])
        #expect(resolved.dqn.doubleQ && resolved.totalTimesteps == 123 && resolved.dqn.gradientSteps == 128)
        request.overrides = ["learning_rat=0.01"]
        #expect(throws: TrainingError.self) { try request.resolve() }
    }

    @Test("Config files (YAML and JSON) override the preset, and unknown keys are named")
    func configFiles() throws {
        let yaml = temporaryDirectory("config") + ".yaml"
        try "total_timesteps: 777\ndqn:\n  learning_rate: 0.002\n  net_arch: [16]\nenv_options:\n  map: key-door\n"
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        var request = RunRequest()
        request.configFile = yaml
        let config = try request.resolve()
        #expect(config.totalTimesteps == 777 && config.dqn.learningRate == 0.002 && config.dqn.netArch == [16])
        #expect(config.envOptions["map"] == "key-door" && config.dqn.batchSize == 64 && config.dqn.activationFn == "tanh")  // the rest from the default preset
        let json = temporaryDirectory("config") + ".json"
        try #"{"dqn": {"gamm": 0.9}}"#.write(toFile: json, atomically: true, encoding: .utf8)
        request.configFile = json
        do { _ = try request.resolve(); Issue.record("accepted an unknown key") } catch {
            #expect("\(error)".contains("dqn has no hyperparameter 'gamm' (did you mean gamma?)"), "\(error)")
        }
    }
}

@Suite struct AgentPartsTests {
    init() { pinBLASToOneThread() }

    @Test("n-step transitions carry the discounted return, the right next observation and discount, also at episode ends")
    func nStepTransitions() throws {
        var config = smallRun()
        config.nEnvs = 1
        config.dqn.nStep = 3
        config.dqn.prioritizedReplay = false
        config.dqn.gamma = 0.5
        config.envOptions = ["state": "0,0,0.15,0"]  // falls quickly
        let trainer = try DQNTrainer(config: config, directory: temporaryDirectory("nstep"))
        _ = try trainer.run(stopAt: 40)
        let buffer = try #require(trainer.learner as? FeedForwardQLearner).buffer
        #expect(buffer.count > 0)
        for k in 0..<buffer.count {
            // Cart-pole rewards are all 1: a k-step return is 1 + γ + … + γ^(k−1) and its discount is γ^k.
            let discount = buffer.discounts[k]
            let steps = Int((log(Double(discount)) / log(0.5)).rounded())
            #expect((1...3).contains(steps))
            #expect(abs(Double(buffer.rewards[k]) - (1 - pow(0.5, Double(steps))) / 0.5) < 1e-6)
            if steps < 3 { #expect(buffer.terminated[k] == 1 || k >= buffer.count - 2) }
        }
    }

    @Test("Dueling and plain Q-networks pass the finite-difference gradient check")
    func qNetworkGradients() {
        for dueling in [false, true] {
            var rng = SeededGenerator(seed: 3)
            let network = QNetwork(observationSize: 5, actionCount: 3, hiddenSizes: [6], dueling: dueling, rng: &rng)
            let x = randomArray(4 * 5, &rng), weights = randomArray(4 * 3, &rng)
            _ = network.forward(x, rows: 4)
            network.backward(weights)
            let failures = GradientCheck.check(network.namedParameters(prefix: "").map { CheckedValue($0.name, $0.parameter) }) {
                GradientCheck.weightedSum(network.forward(x, rows: 4), weights)
            }
            #expect(failures == [], "dueling \(dueling)")
        }
    }

    @Test("The sum tree samples in proportion to priority")
    func sumTree() {
        let tree = SumTree(capacity: 5)
        for (i, p) in [1.0, 0, 3, 0, 6].enumerated() { tree.set(i, p) }
        #expect(tree.total == 10 && tree.minimum == 0)
        #expect(tree.find(0.5) == 0 && tree.find(1.5) == 2 && tree.find(3.99) == 2 && tree.find(4.01) == 4 && tree.find(9.99) == 4)
    }

    @Test("TensorBoard event files are valid TFRecords with masked CRC-32C and the logged scalars")
    func tensorBoard() throws {
        let directory = temporaryDirectory("tb")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = try TensorBoardWriter(directory: directory)
        try writer.scalars([("train/loss", 0.25)], step: 42)
        writer.flush()
        let data = [UInt8](try #require(fileBytes(writer.path)))
        var offset = 0, records = 0
        while offset < data.count {
            let length = data[offset..<(offset + 8)].reversed().reduce(0) { $0 << 8 | Int($1) }
            let lengthCRC = data[(offset + 8)..<(offset + 12)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            #expect(lengthCRC == TensorBoardWriter.maskedCRC(Data(data[offset..<(offset + 8)])))
            let payload = Data(data[(offset + 12)..<(offset + 12 + length)])
            let payloadCRC = data[(offset + 12 + length)..<(offset + 16 + length)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            #expect(payloadCRC == TensorBoardWriter.maskedCRC(payload))
            offset += 16 + length
            records += 1
        }
        #expect(records == 2)
        #expect(TensorBoardWriter.crc32c(Data("123456789".utf8)) == 0xE306_9283)  // the CRC-32C check value
        #expect(String(decoding: data, as: UTF8.self).contains("train/loss"))
    }
}
