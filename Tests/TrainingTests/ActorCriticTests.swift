@testable import Agents
import Environments
import Foundation
import Neural
import Sim
import Testing
import TestSupport
@testable import Training

@Suite struct ActorCriticTests {
    @Test("GAE equals the naive λ-weighted sum of TD errors, with episode ends and truncation bootstraps")
    func gaeMatchesReference() {
        var rng = SeededGenerator(seed: 3)
        let steps = 17, copies = 3, gamma: Float = 0.97, lambda: Float = 0.9
        let buffer = RolloutBuffer(steps: steps, copies: copies, observationSize: 1, actionWidth: 1)
        var rewards: [Float] = [], values: [Float] = [], starts: [Float] = []
        for _ in 0..<(steps * copies) {
            rewards.append(Float(rng.nextGaussian())); values.append(Float(rng.nextGaussian()))
            starts.append(rng.nextInt(below: 5) == 0 ? 1 : 0)
        }
        // Truncated episodes: the row before an episode start gets γ·V(final observation) added to its reward, as the
        // trainer does, while terminated ones get nothing.
        var bootstrapped = rewards
        for t in 0..<(steps - 1) {
            for i in 0..<copies where starts[(t + 1) * copies + i] == 1 && (t + i) % 2 == 0 {
                bootstrapped[t * copies + i] += gamma * Float(rng.nextGaussian())
            }
        }
        let lastValues: [Float] = [0.5, -1, 2], lastStarts: [Float] = [0, 1, 0]
        for k in 0..<(steps * copies) {
            buffer.rewards[k] = bootstrapped[k]; buffer.values[k] = values[k]; buffer.episodeStarts[k] = starts[k]
        }
        buffer.computeAdvantages(lastValues: lastValues, lastStarts: lastStarts, gamma: gamma, lambda: lambda)
        let reference = RolloutBuffer.referenceAdvantages(rewards: bootstrapped, values: values, episodeStarts: starts,
                                                          lastValues: lastValues, lastStarts: lastStarts, steps: steps,
                                                          copies: copies, gamma: gamma, lambda: lambda)
        for k in 0..<(steps * copies) {
            #expect(abs(buffer.advantages[k] - reference[k]) < 1e-4 * max(1, abs(reference[k])), "row \(k)")
            #expect(buffer.returns[k] == buffer.advantages[k] + values[k])
        }
        // λ = 1 and γ = 1 without episode ends: the advantage is the sum of future rewards plus the final value minus V.
        let single = RolloutBuffer(steps: 4, copies: 1, observationSize: 1, actionWidth: 1)
        for t in 0..<4 { single.rewards[t] = Float(t + 1); single.values[t] = 0.5 }
        single.computeAdvantages(lastValues: [2], lastStarts: [0], gamma: 1, lambda: 1)
        #expect(single.advantages[0] == 1 + 2 + 3 + 4 + 2 - 0.5)
    }

    func fixtureAgent(_ name: String) throws -> (agent: ActorCriticAgent, fixture: FixtureFile, rows: Int) {
        let fixture = try Fixtures.neural(name)
        let observations = try fixture.tensor("observations")
        let actions = try fixture.tensor("actions")
        let rows = observations.shape[0], observationSize = observations.shape[1]
        let gaussian = name.hasSuffix("gaussian")
        let width = try fixture.tensor("policy.action_net.bias").count
        var config = ActorCriticConfig.ppo
        config.netArch = [16, 16]; config.clipRangeVf = 0.3; config.entCoef = 0.01; config.vfCoef = 0.5
        var rng = SeededGenerator(seed: 1)
        let actionSpace: Space = gaussian ? .box(low: -10, high: 10, shape: [width]) : .discrete(width)
        let agent = ActorCriticAgent(config: config, algorithm: .ppo, observationSpace: .box(low: -10, high: 10, shape: [observationSize]),
                                     actionSpace: actionSpace, rolloutRows: rows, rng: &rng)
        var weights = SafeTensors.File()
        for key in fixture.file.names where key.hasPrefix("policy.") { weights.append(key, fixture.file.tensors[key]!) }
        try agent.policy.stateEntries(prefix: "policy.").load(from: weights, path: fixture.path)
        agent.setBatch(observations: observations.scalars, actions: actions.scalars,
                       oldLogProbabilities: try fixture.scalars("old_log_prob"), advantages: try fixture.scalars("advantages"),
                       returns: try fixture.scalars("returns"), oldValues: try fixture.scalars("old_values"))
        return (agent, fixture, rows)
    }

    @Test("PPO's loss terms and gradients match a PyTorch reference on the same batch (categorical and Gaussian)",
          arguments: ["ppo_categorical", "ppo_gaussian"])
    func ppoLossMatchesTorch(name: String) throws {
        let (agent, fixture, rows) = try fixtureAgent(name)
        let terms = agent.lossAndGradients(rows: rows, clip: 0.2)
        func scalar(_ key: String) throws -> Double { Double(try fixture.scalars(key)[0]) }
        #expect(abs(terms.policyLoss - (try scalar("policy_loss"))) < 1e-5)
        #expect(abs(terms.valueLoss - (try scalar("value_loss"))) < 1e-5)
        #expect(abs(terms.entropy - (try scalar("entropy"))) < 1e-5)
        #expect(abs(terms.approximateKL - (try scalar("approx_kl"))) < 1e-5)
        #expect(abs(terms.clipFraction - (try scalar("clip_fraction"))) < 1e-6)
        #expect(try scalar("clip_fraction") > 0.1 && (try scalar("clip_fraction")) < 0.9)  // both branches exercised
        for entry in agent.parameters.parameters {
            let expected = try fixture.scalars("grad." + entry.name)
            #expect(scaledError(entry.parameter.grad, expected) < 1e-4, "gradient of \(entry.name)")
        }
    }
}

/// A small PPO run that exercises the options (vector env, observation and reward normalization, value clipping,
/// target KL, annealing) on the continuous arm, where episodes are truncated by the time limit.
func smallActorCriticRun(agent: String = "ppo", env: String = "arm", steps: Int = 2_048) -> RunConfig {
    var config = RunConfig()
    config.env = env
    config.use(agent)
    config.totalTimesteps = steps
    config.nEnvs = 4
    config.seed = 5
    config.evalFreq = 512
    config.nEvalEpisodes = 2
    config.logInterval = 256
    var c = agent == "ppo" ? ActorCriticConfig.ppo : ActorCriticConfig.a2c
    c.nSteps = agent == "ppo" ? 64 : 8
    c.batchSize = 64; c.nEpochs = 3; c.netArch = [16, 16]
    c.normalizeObservations = true; c.normalizeRewards = true; c.clipRangeVf = 0.5; c.targetKl = 0.05
    c.learningRateEnd = 1e-5; c.clipRangeEnd = 0.05; c.entCoef = 0.01
    if agent == "ppo" { config.ppo = c } else { config.a2c = c }
    return config
}

@Suite struct ActorCriticTrainingTests {
    @Test("PPO and A2C: two runs with the same seed give bitwise-identical checkpoints; stop and resume gives the same final checkpoint",
          arguments: ["ppo", "a2c"])
    func determinismAndResume(agent: String) throws {
        let a = temporaryDirectory("ac-a"), b = temporaryDirectory("ac-b"), interrupted = temporaryDirectory("ac-int")
        _ = try ActorCriticTrainer(config: smallActorCriticRun(agent: agent), directory: a).run()
        _ = try ActorCriticTrainer(config: smallActorCriticRun(agent: agent), directory: b).run()
        let first = try ActorCriticTrainer(config: smallActorCriticRun(agent: agent), directory: interrupted).run(stopAt: 1_000)
        #expect(first.interrupted && first.steps < 2_048)
        let resumed = try ActorCriticTrainer(config: smallActorCriticRun(agent: agent), directory: interrupted, resume: true)
        #expect(resumed.step == first.steps)
        _ = try resumed.run()
        for file in ["checkpoints/last/model.safetensors", "checkpoints/last/state.safetensors", "checkpoints/best/model.safetensors"] {
            #expect(fileBytes("\(a)/\(file)") != nil)
            #expect(fileBytes("\(a)/\(file)") == fileBytes("\(b)/\(file)"), "\(file) differs between identical runs")
            if file.contains("last") {
                #expect(fileBytes("\(a)/\(file)") == fileBytes("\(interrupted)/\(file)"), "\(file) differs after resume")
            }
        }
        #expect(try metricsTableWithoutTiming(a) == metricsTableWithoutTiming(b), "metrics differ between identical runs")
        #expect(try metricsTableWithoutTiming(a) == metricsTableWithoutTiming(interrupted), "metrics differ after resume")
        // The trained run evaluates from its directory, with the saved observation statistics.
        let trained = try TrainedRun(directory: a, checkpoint: "last")
        #expect((trained.policy as? ActorCriticPolicyRunner)?.observationStatistics != nil)
        let (result, _) = try trained.evaluate(episodes: 2, seed: 1)
        #expect(result.values(of: "final_distance")?.count == 2)
    }

    @Test("Learning smoke test: PPO balances cart-pole (mean evaluation return ≥ 475)")
    func ppoLearnsCartPole() throws {
        let config = try Presets.named("cartpole-ppo").config  // 50k steps, evaluated every 10k
        let summary = try ActorCriticTrainer(config: config, directory: temporaryDirectory("ppo-cartpole")).run()
        #expect(summary.bestEvaluationReturn >= 475, "best evaluation \(summary.bestEvaluationReturn)")
    }

    @Test("Learning smoke test: A2C balances cart-pole (mean evaluation return ≥ 475)")
    func a2cLearnsCartPole() throws {
        var config = try Presets.named("cartpole-a2c").config
        config.totalTimesteps = 30_000
        config.evalFreq = 10_000
        let summary = try ActorCriticTrainer(config: config, directory: temporaryDirectory("a2c-cartpole")).run()
        #expect(summary.bestEvaluationReturn >= 475, "best evaluation \(summary.bestEvaluationReturn)")
    }

    @Test("Invalid actor-critic settings are rejected before training with what to change")
    func validation() {
        var config = smallActorCriticRun()
        config.ppo.batchSize = 10_000
        config.ppo.clipRange = -1
        config.ppo.encoder = "attention"
        let problems = config.problems()
        #expect(problems.contains { $0.contains("batch_size") && $0.contains("n_steps × n_envs") })
        #expect(problems.contains { $0.contains("clip_range") })
        #expect(problems.contains { $0.contains("attention encoder takes entity-set") })
        var dqnOnArm = RunConfig()
        dqnOnArm.env = "arm"
        #expect(dqnOnArm.problems().contains { $0.contains("discrete action space") })
    }
}

@Suite struct RecurrentActorCriticTests {
    @Test("Recurrent PPO (LSTM, and attention then LSTM): the training forward over stored sequences reproduces acting",
          arguments: ["lstm", "attention-lstm"])
    func sequencesReproduceActing(encoder: String) throws {
        var config = ActorCriticConfig.ppo
        config.encoder = encoder; config.lstmHidden = 8; config.netArch = [16]; config.nSteps = 12; config.batchSize = 24
        config.embedDim = 8; config.attentionHeads = 2
        let copies = 4, steps = 12, H = 8
        let space: Space = encoder == "lstm" ? .box(low: -5, high: 5, shape: [3]) : .entitySet(rows: 3, features: 3)
        let observationSize = space.flatCount
        var rng = SeededGenerator(seed: 4)
        #expect(config.problems(observationSpace: space, actionSpace: .discrete(3), algorithm: .ppo, environmentCopies: copies).isEmpty)
        let agent = ActorCriticAgent(config: config, algorithm: .ppo, observationSpace: space,
                                     actionSpace: .discrete(3), rolloutRows: steps * copies, rng: &rng)
        let buffer = RolloutBuffer(steps: steps, copies: copies, observationSize: observationSize, actionWidth: 1, stateSize: H)
        var hidden = (0..<(copies * H)).map { _ in Float(rng.nextGaussian()) * 0.3 }
        var cell = (0..<(copies * H)).map { _ in Float(rng.nextGaussian()) * 0.3 }
        buffer.initialHidden.update(from: hidden, count: copies * H)
        buffer.initialCell.update(from: cell, count: copies * H)
        var starts = [Float](repeating: 0, count: copies)
        var observations = [Float](repeating: 0, count: copies * observationSize)
        var actions = [Float](repeating: 0, count: copies), raw = actions, values = actions, logProbabilities = actions
        for _ in 0..<steps {
            for k in 0..<observations.count { observations[k] = Float(rng.nextGaussian()) }
            if encoder != "lstm" {  // entity rows: presence 1 for the ego and a random subset of the others
                for row in 0..<(copies * 3) {
                    let present: Float = row % 3 == 0 || rng.nextInt(below: 2) == 0 ? 1 : 0
                    observations[row * 3] = present
                    if present == 0 { observations[row * 3 + 1] = 0; observations[row * 3 + 2] = 0 }
                }
            }
            hidden.withUnsafeMutableBufferPointer { h in cell.withUnsafeMutableBufferPointer { c in starts.withUnsafeBufferPointer { s in
                agent.act(observations, rows: copies, deterministic: false, rng: &rng, environmentActions: &actions, rawActions: &raw,
                          values: &values, logProbabilities: &logProbabilities,
                          state: .init(hidden: h.baseAddress!, cell: c.baseAddress!, starts: s.baseAddress!))
            } } }
            for i in 0..<copies {
                let row = buffer.row(i)
                (buffer.observations + row * observationSize).update(from: observations.withUnsafeBufferPointer { $0.baseAddress! + i * observationSize },
                                                                   count: observationSize)
                buffer.actions[row] = raw[i]; buffer.values[row] = values[i]; buffer.logProbabilities[row] = logProbabilities[i]
                buffer.episodeStarts[row] = starts[i]
                buffer.advantages[row] = Float(rng.nextGaussian()); buffer.returns[row] = values[i]
            }
            buffer.advance()
            for i in 0..<copies { starts[i] = rng.nextInt(below: 4) == 0 ? 1 : 0 }  // some episodes end
        }
        // All four copies' sequences in one minibatch, in a shuffled order.
        agent.gatherSequences(buffer, from: 0, count: 2)
        let first = agent.lossAndGradients(rows: 2 * steps, clip: 0.2)
        #expect(first.approximateKL < 1e-7 && first.clipFraction == 0, "KL \(first.approximateKL)")
        #expect(first.valueLoss < 1e-8, "value loss \(first.valueLoss) (returns were set to the acting values)")
        // Gradients reach every parameter (the attention layers too, through the LSTM's input gradient).
        let reached = agent.parameters.parameters.filter { entry in
            (0..<entry.parameter.count).contains { entry.parameter.grad[$0] != 0 }
        }.count
        #expect(reached == agent.parameters.parameters.count, "\(reached) of \(agent.parameters.parameters.count) parameters got gradients")
    }
}
