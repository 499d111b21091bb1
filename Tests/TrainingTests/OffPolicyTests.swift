import Agents
import Foundation
import Neural
import Sim
import Testing
import TestSupport
@testable import Training

/// A small SAC or TD3 run on the pendulum with two copies, learning from step 200, with the options that change
/// the loop (several gradient steps per update, a learning-rate schedule, a learned or fixed temperature).
func smallOffPolicyRun(agent: String, steps: Int = 1_200) -> RunConfig {
    var config = RunConfig()
    config.env = "pendulum"
    config.use(agent)
    config.totalTimesteps = steps
    config.nEnvs = 2
    config.seed = 3
    config.evalFreq = 400
    config.nEvalEpisodes = 2
    config.logInterval = 200
    var c = agent == "sac" ? OffPolicyConfig.sac : OffPolicyConfig.td3
    c.bufferSize = 1_000; c.learningStarts = 200; c.batchSize = 32; c.netArch = [16, 16]; c.trainFreq = 2
    c.gradientSteps = 3; c.learningRateEnd = 1e-5; c.policyDelay = 2
    c.normalizeObservations = agent == "sac"
    if agent == "sac" { config.sac = c } else { config.td3 = c }
    return config
}

@Suite struct OffPolicyTrainingTests {
    @Test("SAC and TD3: two runs with the same seed give bitwise-identical checkpoints; stop and resume gives the same final checkpoint and logs",
          arguments: ["sac", "td3"])
    func determinismAndResume(agent: String) throws {
        let a = temporaryDirectory("op-a"), b = temporaryDirectory("op-b"), interrupted = temporaryDirectory("op-int")
        _ = try makeTrainer(config: smallOffPolicyRun(agent: agent), directory: a).run(progress: nil, stopAt: nil)
        _ = try makeTrainer(config: smallOffPolicyRun(agent: agent), directory: b).run(progress: nil, stopAt: nil)
        // Stop inside the replay's second lap (1,000 transitions, 2 copies) so the ring has wrapped.
        let first = try makeTrainer(config: smallOffPolicyRun(agent: agent), directory: interrupted).run(progress: nil, stopAt: 1_050)
        #expect(first.interrupted && first.steps == 1_050)
        let resumed = try makeTrainer(config: smallOffPolicyRun(agent: agent), directory: interrupted, resume: true)
        #expect(resumed.step == first.steps)
        _ = try resumed.run(progress: nil, stopAt: nil)
        for file in ["checkpoints/last/model.safetensors", "checkpoints/last/state.safetensors", "checkpoints/best/model.safetensors"] {
            #expect(fileBytes("\(a)/\(file)") != nil)
            #expect(fileBytes("\(a)/\(file)") == fileBytes("\(b)/\(file)"), "\(file) differs between identical runs")
            if file.contains("last") {
                #expect(fileBytes("\(a)/\(file)") == fileBytes("\(interrupted)/\(file)"), "\(file) differs after resume")
            }
        }
        #expect(try metricsTableWithoutTiming(a) == metricsTableWithoutTiming(b), "metrics differ between identical runs")
        #expect(try metricsTableWithoutTiming(a) == metricsTableWithoutTiming(interrupted), "metrics differ after resume")
        // The trained run evaluates from its directory with SB3's names in the checkpoint.
        let model = try SafeTensors.read(from: "\(a)/checkpoints/last/model.safetensors")
        #expect(model.tensors["actor.mu.weight"] != nil || model.tensors["actor.mu.0.weight"] != nil)
        #expect(model.tensors["critic.qf1.4.weight"] != nil && model.tensors["critic_target.qf0.0.weight"] != nil)
        #expect((model.tensors["log_ent_coef"] != nil) == (agent == "sac"))
        #expect((model.tensors["obs_rms.mean"] != nil) == (agent == "sac"))  // the SAC run normalizes observations
        let trained = try TrainedRun(directory: a, checkpoint: "last")
        #expect(trained.policy is OffPolicyPolicyRunner)
        let (result, _) = try trained.evaluate(episodes: 2, seed: 1)
        #expect(result.returns.count == 2 && result.returns.allSatisfy { $0 < 0 })
    }

    @Test("Learning smoke test: SAC on the pendulum improves within 3,000 steps (evaluation return above -700 from about -1,300)")
    func sacImprovesOnPendulum() throws {
        var config = RunConfig()
        config.env = "pendulum"
        config.use("sac")
        config.totalTimesteps = 3_000
        config.evalFreq = 3_000
        config.nEvalEpisodes = 5
        config.nFinalEvalEpisodes = 5  // the measurement this smoke test was calibrated on: one evaluation of 5 episodes
        var c = OffPolicyConfig.sac
        c.learningRate = 1e-3; c.netArch = [64, 64]; c.batchSize = 128
        config.sac = c
        let summary = try makeTrainer(config: config, directory: temporaryDirectory("sac-pendulum")).run(progress: nil, stopAt: nil)
        #expect(summary.bestEvaluationReturn > -700, "best evaluation \(summary.bestEvaluationReturn)")
    }

    @Test("The replay keeps each copy's steps in time order and bootstraps through truncation but not termination")
    func transitionBufferLayout() {
        let buffer = TransitionBuffer(capacity: 7, copies: 2, observationSpace: .box(low: -1, high: 1, shape: [1]),
                                      observationKind: .continuous, actionWidth: 1)
        #expect(buffer.steps == 3)  // whole vector steps: 7 transitions hold 3 steps of 2 copies
        for t in 0..<4 {
            for copy in 0..<2 {
                var observation = Float(10 * t + copy), next = observation + 1, action = Float(copy) - 0.5
                buffer.store(copy: copy, observation: &observation, action: &action, reward: Float(t), nextObservation: &next,
                             terminated: t == 1 && copy == 0)
            }
            buffer.advance()
        }
        #expect(buffer.count == 6 && buffer.position == 1)
        // Row 0 holds step 3 (the oldest, step 0, was overwritten); slot = row × copies + copy.
        let batch = TransitionBuffer.Batch(size: 1, observationSize: 1, actionWidth: 1)
        buffer.copy(slot: 1, into: batch, at: 0)
        #expect(batch.observations[0] == 31 && batch.nextObservations[0] == 32 && batch.actions[0] == 0.5 && batch.rewards[0] == 3)
        buffer.copy(slot: 2, into: batch, at: 0)
        #expect(batch.observations[0] == 10 && batch.terminated[0] == 1)
        buffer.copy(slot: 3, into: batch, at: 0)
        #expect(batch.observations[0] == 11 && batch.terminated[0] == 0)
    }

    @Test("Actions are rescaled to the space's bounds and back, and stay inside them")
    func actionScaling() {
        var rng = SeededGenerator(seed: 1)
        let agent = OffPolicyAgent(algorithm: .sac, config: .sac, observationSpace: .box(low: -1, high: 1, shape: [3]),
                                   actionSpace: .box(low: [-2, 0], high: [2, 0.5], shape: [2]), rng: &rng)
        var actions: [Float] = [-1, 1, 0, 0, 1, -1]
        agent.unscale(&actions, rows: 3)
        #expect(actions == [-2, 0.5, 0, 0.25, 2, 0])
        agent.scale(&actions, rows: 3)
        #expect(actions == [-1, 1, 0, 0, 1, -1])
        var observation: [Float] = [0.1, -0.2, 0.3], action: [Float] = [0, 0]
        agent.act(&observation, rows: 1, into: &action, rng: nil)
        agent.unscale(&action, rows: 1)
        #expect((-2...2).contains(action[0]) && (0...0.5).contains(action[1]))
    }

    @Test("Invalid SAC and TD3 settings are rejected before training with what to change")
    func validation() {
        var config = smallOffPolicyRun(agent: "sac")
        config.sac.entCoef = "auto_-1"
        config.sac.tau = 0
        config.sac.batchSize = 5_000
        var problems = config.problems()
        #expect(problems.contains { $0.contains("ent_coef") })
        #expect(problems.contains { $0.contains("tau") })
        #expect(problems.contains { $0.contains("batch_size") })
        var onGrid = RunConfig()
        onGrid.env = "gridworld"
        onGrid.use("td3")
        problems = onGrid.problems()
        #expect(problems.contains { $0.contains("continuous (box) action space") })
        // Through --set: the text forms are checked, numbers pass.
        var set = RunConfig()
        set.env = "pendulum"
        set.use("sac")
        #expect(throws: TrainingError.self) { try set.set(["ent_coef": .string("automatic")], source: "--set") }
        #expect(throws: Never.self) { try set.set(["ent_coef": .string("auto_0.1"), "target_entropy": .double(-0.5)], source: "--set") }
        #expect(set.sac.entropyCoefficient?.initial == 0.1 && set.sac.targetEntropy(actionDimensions: 1) == -0.5)
    }
}

@Suite struct HindsightTrainingTests {
    /// A short hindsight-replay run on a goal-conditioned arm task: SAC on push, DQN on reach with discrete torques.
    static func run(agent: String) -> RunConfig {
        var config = RunConfig()
        config.env = "arm"
        config.use(agent)
        config.envOptions = agent == "dqn" ? ["task": "reach", "goal": "true", "action": "discrete"] : ["task": "push", "goal": "true"]
        config.totalTimesteps = 1_200
        config.nEnvs = 2
        config.seed = 9
        config.evalFreq = 600
        config.nEvalEpisodes = 2
        config.logInterval = 200
        if agent == "dqn" {
            var c = DQNConfig()
            c.replayBufferClass = "herreplaybuffer"; c.bufferSize = 500; c.learningStarts = 200; c.batchSize = 16; c.netArch = [16]
            c.trainFreq = 1; c.targetUpdateInterval = 100; c.goalSelectionStrategy = "final"
            config.dqn = c
        } else {
            var c = OffPolicyConfig.sac
            c.replayBufferClass = "herreplaybuffer"; c.bufferSize = 500; c.learningStarts = 200; c.batchSize = 16; c.netArch = [16]
            config.sac = c
        }
        return config
    }

    @Test("Hindsight replay (SAC on push, DQN on reach): same seed, same bits; stop and resume across the ring's wrap gives the same checkpoint",
          arguments: ["sac", "dqn"])
    func determinismAndResume(agent: String) throws {
        let a = temporaryDirectory("her-a"), b = temporaryDirectory("her-b"), interrupted = temporaryDirectory("her-int")
        _ = try makeTrainer(config: Self.run(agent: agent), directory: a).run(progress: nil, stopAt: nil)
        _ = try makeTrainer(config: Self.run(agent: agent), directory: b).run(progress: nil, stopAt: nil)
        let first = try makeTrainer(config: Self.run(agent: agent), directory: interrupted).run(progress: nil, stopAt: 700)
        #expect(first.interrupted)
        _ = try makeTrainer(config: Self.run(agent: agent), directory: interrupted, resume: true).run(progress: nil, stopAt: nil)
        for file in ["checkpoints/last/model.safetensors", "checkpoints/last/state.safetensors"] {
            #expect(fileBytes("\(a)/\(file)") != nil)
            #expect(fileBytes("\(a)/\(file)") == fileBytes("\(b)/\(file)"), "\(file) differs between identical runs")
            #expect(fileBytes("\(a)/\(file)") == fileBytes("\(interrupted)/\(file)"), "\(file) differs after resume")
        }
        let state = try SafeTensors.read(from: "\(a)/checkpoints/last/state.safetensors")
        #expect(state.tensors["buffer.her_episodes"] != nil)
    }

    @Test("Hindsight replay needs a goal-conditioned environment, one-step uniform replay for DQN, and a known strategy")
    func validation() throws {
        var notGoal = Self.run(agent: "sac")
        notGoal.envOptions = ["task": "push"]
        #expect(throws: TrainingError.self) { try makeTrainer(config: notGoal, directory: temporaryDirectory("her-bad")) }
        var nStep = Self.run(agent: "dqn")
        nStep.dqn.nStep = 3
        #expect(nStep.problems().contains { $0.contains("n_step: 1") })
        #expect(throws: TrainingError.self) { try nStep.set(["goal_selection_strategy": .string("later")], source: "--set") }
    }
}
