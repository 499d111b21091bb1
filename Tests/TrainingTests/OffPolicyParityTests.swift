import Agents
import Foundation
import Neural
import Sim
import Testing
import TestSupport

/// SAC and TD3 against one gradient step computed in PyTorch on Stable-Baselines3's own policy modules
/// (scripts/make_offpolicy_fixtures.py → Tests/Fixtures/neural/sac.safetensors, td3.safetensors): the same weights
/// (targets different from the online networks), batch and noise give the same policy samples, log-probabilities,
/// losses and gradients of every parameter. The optimizers run with learning rate 0 so the step leaves the weights as
/// loaded and the arenas hold the step's gradients.
@Suite struct OffPolicyParityTests {
    init() { pinBLASToOneThread() }

    static let rows = 6, observationSize = 3, actionDimensions = 2

    /// An agent with the fixture's sizes and settings, its weights, log-temperature and batch loaded from the fixture.
    func fixtureAgent(_ algorithm: OffPolicyAgent.Algorithm) throws -> (agent: OffPolicyAgent, fixture: FixtureFile) {
        let fixture = try Fixtures.neural(algorithm.rawValue)
        var config = algorithm == .sac ? OffPolicyConfig.sac : OffPolicyConfig.td3
        config.netArch = [8, 8]
        config.batchSize = Self.rows
        config.gamma = 0.99
        config.entCoef = "auto_0.3"
        config.targetEntropy = "auto"
        config.policyDelay = 1
        config.targetPolicyNoise = 0.2
        config.targetNoiseClip = 0.5
        var rng = SeededGenerator(seed: 1)
        let agent = OffPolicyAgent(algorithm: algorithm, config: config,
                                   observationSpace: .box(low: -10, high: 10, shape: [Self.observationSize]),
                                   actionSpace: .box(low: -1, high: 1, shape: [Self.actionDimensions]), rng: &rng)
        try agent.modelEntries.load(from: fixture.file, path: fixture.path, strict: false)
        for optimizer in agent.optimizers { optimizer.learningRate = 0 }
        let batch = agent.batch
        func fill(_ pointer: UnsafeMutablePointer<Float>, _ key: String, count: Int) throws {
            let values = try fixture.scalars(key)
            try #require(values.count == count, "\(key) holds \(values.count) values, expected \(count)")
            pointer.update(from: values, count: count)
        }
        let B = Self.rows
        try fill(batch.observations, "observations", count: B * Self.observationSize)
        try fill(batch.actions, "actions", count: B * Self.actionDimensions)
        try fill(batch.rewards, "rewards", count: B)
        try fill(batch.nextObservations, "next_observations", count: B * Self.observationSize)
        try fill(batch.terminated, "terminated", count: B)
        return (agent, fixture)
    }

    /// |actual − expected| / max(1, |expected|).
    func relativeError(_ actual: Float?, _ expected: Float) -> Double {
        guard let actual else { return .infinity }
        return abs(Double(actual) - Double(expected)) / max(1, abs(Double(expected)))
    }

    /// Compares every parameter gradient in `arenas` with the fixture's `grad.<name>` and checks the fixture has no
    /// gradient left unchecked; returns the largest scaled error.
    func compareGradients(_ arenas: [ParameterArena], _ fixture: FixtureFile) throws -> Double {
        var worst = 0.0
        var checked: Set<String> = []
        for entry in arenas.flatMap(\.parameters) {
            let expected = try fixture.scalars("grad." + entry.name)
            try #require(expected.count == entry.parameter.count, "grad.\(entry.name): \(expected.count) values, expected \(entry.parameter.count)")
            let error = scaledError(entry.parameter.grad, expected)
            worst = max(worst, error)
            #expect(error < Tolerance.gradient, "gradient of \(entry.name): scaled error \(error)")
            checked.insert("grad." + entry.name)
        }
        let inFixture = Set(fixture.file.names.filter { $0.hasPrefix("grad.") })
        #expect(inFixture.subtracting(checked).isEmpty, "fixture gradients the agent lacks: \(inFixture.subtracting(checked).sorted())")
        return worst
    }

    @Test("SAC: squashed samples and log-probabilities, temperature, critic and actor losses and every gradient match PyTorch")
    func sacMatchesTorch() throws {
        let (agent, fixture) = try fixtureAgent(.sac)
        let actor = try #require(agent.gaussianActor)
        let B = Self.rows
        // The temperature starts at the configured 0.3 (log α = log 0.3), the fixture's value.
        #expect(relativeError(agent.entropyCoefficient, try fixture.scalars("ent_coef")[0]) < Tolerance.forward)
        #expect(agent.targetEntropy == -2)

        let noise = try fixture.scalars("noise"), nextNoise = try fixture.scalars("next_noise")
        var forwardWorst = 0.0
        func compare(_ actual: UnsafePointer<Float>, _ key: String) throws {
            let error = scaledError(actual, try fixture.scalars(key))
            forwardWorst = max(forwardWorst, error)
            #expect(error < Tolerance.forward, "\(key): scaled error \(error)")
        }
        let (mean, logStd) = actor.distribution(agent.batch.observations, rows: B)
        try compare(mean, "mean")
        try compare(logStd, "log_std")  // clamped to [−20, 2]: the fixture has values above 2 before the clamp
        let next = actor.sample(agent.batch.nextObservations, rows: B, noise: nextNoise)
        try compare(next.actions, "next_actions")
        try compare(next.logProbabilities, "next_log_prob")
        let current = actor.sample(agent.batch.observations, rows: B, noise: noise)
        try compare(current.actions, "actions_pi")  // one saturated at exactly ±1
        try compare(current.logProbabilities, "log_prob")

        let losses = noise.withUnsafeBufferPointer { n in
            nextNoise.withUnsafeBufferPointer { m in agent.train(on: agent.batch, noise: n.baseAddress!, nextNoise: m.baseAddress!) }
        }
        let lossErrors = try [
            ("ent_coef", relativeError(losses.entropyCoefficient, fixture.scalars("ent_coef")[0])),
            ("ent_coef_loss", relativeError(losses.entropyCoefficientLoss, fixture.scalars("ent_coef_loss")[0])),
            ("critic_loss", relativeError(losses.critic, fixture.scalars("critic_loss")[0])),
            ("actor_loss", relativeError(losses.actor, fixture.scalars("actor_loss")[0])),
        ]
        for (key, error) in lossErrors { #expect(error < Tolerance.forward, "\(key): relative error \(error)") }
        let entropy = try #require(agent.entropyParameters)
        let gradientWorst = try compareGradients([agent.actorParameters, agent.criticParameters, entropy], fixture)
        // Learning rate 0: the step left the weights as loaded.
        for entry in agent.actorParameters.parameters + agent.criticParameters.parameters {
            #expect(scaledError(entry.parameter.value, try fixture.scalars(entry.name)) == 0, "\(entry.name) moved")
        }
        print("SAC parity: forward \(forwardWorst), losses \(lossErrors.map(\.1).max()!), gradients \(gradientWorst)")
    }

    @Test("TD3: actor and target actions, critic and actor losses and every gradient match PyTorch (policy_delay 1)")
    func td3MatchesTorch() throws {
        let (agent, fixture) = try fixtureAgent(.td3)
        let actor = try #require(agent.deterministicActor), target = try #require(agent.actorTarget)
        let B = Self.rows, A = Self.actionDimensions
        var forwardWorst = 0.0
        func compare(_ actual: UnsafePointer<Float>, _ key: String) throws {
            let error = scaledError(actual, try fixture.scalars(key))
            forwardWorst = max(forwardWorst, error)
            #expect(error < Tolerance.forward, "\(key): scaled error \(error)")
        }
        try compare(actor.forward(agent.batch.observations, rows: B), "actions_pi")
        // The smoothed target actions, as the agent forms them: clip(μ′(s′) + clip(0.2ε, ±0.5), ±1).
        let nextNoise = try fixture.scalars("next_noise")
        let mu = target.forward(agent.batch.nextObservations, rows: B)
        let smoothed = (0..<(B * A)).map { k in min(max(mu[k] + min(max(0.2 * nextNoise[k], -0.5), 0.5), -1), 1) }
        try compare(smoothed, "next_actions")

        let noise = try fixture.scalars("noise")
        let losses = noise.withUnsafeBufferPointer { n in
            nextNoise.withUnsafeBufferPointer { m in agent.train(on: agent.batch, noise: n.baseAddress!, nextNoise: m.baseAddress!) }
        }
        #expect(agent.updates % agent.config.policyDelay == 0 && losses.actor != nil, "the step must include the actor update")
        let lossErrors = try [
            ("critic_loss", relativeError(losses.critic, fixture.scalars("critic_loss")[0])),
            ("actor_loss", relativeError(losses.actor, fixture.scalars("actor_loss")[0])),
        ]
        for (key, error) in lossErrors { #expect(error < Tolerance.forward, "\(key): relative error \(error)") }
        #expect(losses.entropyCoefficient == nil && agent.entropyParameters == nil)
        let gradientWorst = try compareGradients([agent.actorParameters, agent.criticParameters], fixture)
        for entry in agent.actorParameters.parameters + agent.criticParameters.parameters {
            #expect(scaledError(entry.parameter.value, try fixture.scalars(entry.name)) == 0, "\(entry.name) moved")
        }
        print("TD3 parity: forward \(forwardWorst), losses \(lossErrors.map(\.1).max()!), gradients \(gradientWorst)")
    }
}
