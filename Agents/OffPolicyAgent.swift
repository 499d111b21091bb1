import Foundation
import Neural
import Sim

/// The losses and temperature of one gradient step, for logs.
public struct OffPolicyLosses: Sendable {
    public var critic: Float = 0
    /// nil on TD3 steps that skip the delayed actor update.
    public var actor: Float?
    /// SAC: the temperature α used in this step, and its loss (learned temperature only).
    public var entropyCoefficient: Float?
    public var entropyCoefficientLoss: Float?
}

/// Soft Actor-Critic (Haarnoja et al. 2018) and TD3 (Fujimoto et al. 2018), with Stable-Baselines3's update in the
/// same order: twin critics regressed on a clipped double-Q target, Polyak-averaged targets, and a tanh-squashed
/// Gaussian policy with a learned temperature (SAC) or a deterministic policy updated every `policy_delay` critic
/// updates against target actions smoothed with clipped noise (TD3). Owns the networks, optimizers and batch buffers;
/// the run loop (collect, store, learn) lives in Training.
///
/// Actions are in the [−1, 1] scale: ``unscale(_:into:rows:)`` maps them to the action space's bounds, as SB3's
/// `unscale_action`, and the replay stores the [−1, 1] actions.
public final class OffPolicyAgent {
    public enum Algorithm: String, Sendable { case sac, td3 }

    public let algorithm: Algorithm
    public let config: OffPolicyConfig
    public let observationSize: Int
    public let actionDimensions: Int
    /// The action space's bounds (A each).
    public let low: [Float], high: [Float]

    /// SAC's actor (nil for TD3).
    public let gaussianActor: SquashedGaussianActor?
    /// TD3's actor and its target (nil for SAC).
    public let deterministicActor: DeterministicActor?
    public let actorTarget: DeterministicActor?
    public let critic: TwinCritic
    public let criticTarget: TwinCritic
    public let actorParameters: ParameterArena
    public let actorTargetParameters: ParameterArena?
    public let criticParameters: ParameterArena
    public let criticTargetParameters: ParameterArena
    public let actorOptimizer: Adam
    public let criticOptimizer: Adam
    /// SAC's learned log-temperature (nil when fixed or TD3) and its optimizer.
    public let logEntropyCoefficient: Parameter?
    public let entropyOptimizer: Adam?
    public let entropyParameters: ParameterArena?
    /// SAC's fixed temperature when it is not learned.
    public let fixedEntropyCoefficient: Float
    public let targetEntropy: Float
    /// Gradient steps taken (SB3's `_n_updates`): TD3's delay and SAC's target interval count them.
    public var updates = 0
    /// Charged with the parts of each gradient step when set (`dojo train --profile`).
    public var clock: PhaseClock?
    /// With normalize_observations: the running statistics each sampled minibatch is normalized with (the trainer
    /// updates them as observations arrive and normalizes what it acts on).
    public var observationStatistics: RunningStatistics?

    public let batch: TransitionBuffer.Batch
    private let noise: UnsafeMutablePointer<Float>            // (B, A): ε for the policy's actions
    private let nextNoise: UnsafeMutablePointer<Float>        // (B, A): ε for the next actions (SAC), target smoothing (TD3)
    private let nextActions: UnsafeMutablePointer<Float>      // (B, A)
    private let nextLogProbabilities: UnsafeMutablePointer<Float>  // (B)
    private let targets: UnsafeMutablePointer<Float>          // (B)
    private let qGradient: UnsafeMutablePointer<Float>        // (n_critics, B)
    private let logProbabilityGradient: UnsafeMutablePointer<Float>  // (B)
    private let zeroNoise: UnsafeMutablePointer<Float>        // (acting rows, A): zeros, for deterministic actions
    private let actingNoise: UnsafeMutablePointer<Float>      // (acting rows, A)

    public init(algorithm: Algorithm, config: OffPolicyConfig, observationSpace: Space, actionSpace: Space,
                rng: inout SeededGenerator) {
        guard case .box(let low, let high, _) = actionSpace else { preconditionFailure("SAC and TD3 need a box action space") }
        self.algorithm = algorithm
        self.config = config
        self.low = low
        self.high = high
        observationSize = observationSpace.flatCount
        let A = actionSpace.actionWidth
        actionDimensions = A
        let learningRate = Float(config.learningRate)
        switch algorithm {
        case .sac:
            let actor = SquashedGaussianActor(observationSize: observationSize, actionDimensions: A, config: config,
                                              encoder: offPolicyEncoder(config, observationSpace, &rng), rng: &rng)
            gaussianActor = actor
            deterministicActor = nil
            actorTarget = nil
            actorParameters = ParameterArena(module: actor, prefix: "actor.")
            actorTargetParameters = nil
        case .td3:
            let actor = DeterministicActor(observationSize: observationSize, actionDimensions: A, config: config,
                                           encoder: offPolicyEncoder(config, observationSpace, &rng), rng: &rng)
            var targetRNG = rng  // any values: the target starts as a copy
            let target = DeterministicActor(observationSize: observationSize, actionDimensions: A, config: config,
                                            encoder: offPolicyEncoder(config, observationSpace, &targetRNG), rng: &targetRNG)
            gaussianActor = nil
            deterministicActor = actor
            actorTarget = target
            actorParameters = ParameterArena(module: actor, prefix: "actor.")
            let targetParameters = ParameterArena(module: target, prefix: "actor_target.")
            targetParameters.copyValues(from: actorParameters)
            actorTargetParameters = targetParameters
        }
        critic = TwinCritic(observationSize: observationSize, actionDimensions: A, config: config,
                            encoder: offPolicyEncoder(config, observationSpace, &rng), rng: &rng)
        var targetRNG = rng
        criticTarget = TwinCritic(observationSize: observationSize, actionDimensions: A, config: config,
                                  encoder: offPolicyEncoder(config, observationSpace, &targetRNG), rng: &targetRNG)
        criticParameters = ParameterArena(module: critic, prefix: "critic.")
        criticTargetParameters = ParameterArena(module: criticTarget, prefix: "critic_target.")
        criticTargetParameters.copyValues(from: criticParameters)
        actorOptimizer = Adam(actorParameters, learningRate: learningRate)
        criticOptimizer = Adam(criticParameters, learningRate: learningRate)
        let entropy = config.entropyCoefficient ?? (1, true)
        if algorithm == .sac && entropy.learned {
            let parameter = Parameter(shape: [1])
            parameter.value[0] = Float(log(entropy.initial))
            logEntropyCoefficient = parameter
            let arena = ParameterArena([NamedParameter("log_ent_coef", parameter)])
            entropyParameters = arena
            entropyOptimizer = Adam(arena, learningRate: learningRate)
        } else {
            logEntropyCoefficient = nil
            entropyParameters = nil
            entropyOptimizer = nil
        }
        fixedEntropyCoefficient = Float(entropy.initial)
        targetEntropy = Float(config.targetEntropy(actionDimensions: A) ?? -Double(A))

        let B = config.batchSize
        batch = TransitionBuffer.Batch(size: B, observationSize: observationSize, actionWidth: A)
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
            return pointer
        }
        noise = floats(B * A); nextNoise = floats(B * A); nextActions = floats(B * A)
        nextLogProbabilities = floats(B); targets = floats(B); qGradient = floats(config.nCritics * B)
        logProbabilityGradient = floats(B)
        zeroNoise = floats(Self.actingRows * A); actingNoise = floats(Self.actingRows * A)
    }

    deinit {
        noise.deallocate(); nextNoise.deallocate(); nextActions.deallocate(); nextLogProbabilities.deallocate()
        targets.deallocate(); qGradient.deallocate(); logProbabilityGradient.deallocate(); zeroNoise.deallocate()
        actingNoise.deallocate()
    }

    /// The most rows one `act` call takes (environment copies).
    public static let actingRows = 4_096

    /// The optimizers, for checkpoints and learning-rate schedules.
    public var optimizers: [Adam] { [actorOptimizer, criticOptimizer] + (entropyOptimizer.map { [$0] } ?? []) }

    /// The temperature α the next step uses.
    public var entropyCoefficient: Float {
        guard let logEntropyCoefficient else { return fixedEntropyCoefficient }
        return expf(logEntropyCoefficient.value[0])
    }

    /// Every trained weight and target under SB3's names (`actor.*`, `critic.*`, `critic_target.*`, TD3's
    /// `actor_target.*`, SAC's `log_ent_coef`).
    public var modelEntries: [StateEntry] {
        var entries: [StateEntry] = []
        if let actor = gaussianActor { entries += actor.stateEntries(prefix: "actor.") }
        if let actor = deterministicActor { entries += actor.stateEntries(prefix: "actor.") }
        if let target = actorTarget { entries += target.stateEntries(prefix: "actor_target.") }
        entries += critic.stateEntries(prefix: "critic.") + criticTarget.stateEntries(prefix: "critic_target.")
        return entries + (entropyParameters?.parameters.map { StateEntry(name: $0.name, storage: .parameter($0.parameter)) } ?? [])
    }

    // MARK: Acting

    /// Actions in the [−1, 1] scale for `rows` observations (rows ≤ ``actingRows``): the deterministic action
    /// (tanh of the mean for SAC, the actor's output for TD3), or with `rng` an exploring one — a sample of SAC's
    /// policy, or TD3's action plus the configured noise, clipped to [−1, 1].
    public func act(_ observations: UnsafePointer<Float>, rows: Int, into actions: UnsafeMutablePointer<Float>,
                    rng: UnsafeMutablePointer<SeededGenerator>?) {
        precondition(rows <= Self.actingRows, "act takes at most \(Self.actingRows) rows")
        let count = rows * actionDimensions
        if let actor = gaussianActor {
            let epsilon = rng == nil ? zeroNoise : actingNoise
            if let rng { for k in 0..<count { epsilon[k] = Float(rng.pointee.nextGaussian()) } }
            actions.update(from: actor.sample(observations, rows: rows, noise: epsilon).actions, count: count)
        } else if let actor = deterministicActor {
            actions.update(from: actor.forward(observations, rows: rows), count: count)
            if let rng, config.noiseType == "normal" {
                let std = Float(config.noiseStd)
                for k in 0..<count { actions[k] = min(max(actions[k] + std * Float(rng.pointee.nextGaussian()), -1), 1) }
            }
        }
    }

    /// Maps [−1, 1] actions (rows, A) to the action space's bounds: low + ½(a + 1)(high − low), in place, kept
    /// within the bounds against rounding.
    public func unscale(_ actions: UnsafeMutablePointer<Float>, rows: Int) {
        let A = actionDimensions
        for r in 0..<rows {
            for j in 0..<A {
                let value = low[j] + 0.5 * (actions[r * A + j] + 1) * (high[j] - low[j])
                actions[r * A + j] = min(max(value, low[j]), high[j])
            }
        }
    }

    /// Maps actions within the bounds (rows, A) to the [−1, 1] scale: 2(a − low)/(high − low) − 1, in place.
    public func scale(_ actions: UnsafeMutablePointer<Float>, rows: Int) {
        let A = actionDimensions
        for r in 0..<rows {
            for j in 0..<A { actions[r * A + j] = 2 * (actions[r * A + j] - low[j]) / (high[j] - low[j]) - 1 }
        }
    }

    // MARK: Learning

    /// One gradient step on a minibatch from `replay`; the noise comes from `rng` (SAC: the policy's samples for the
    /// batch's observations, then for its next observations; TD3: the target smoothing noise).
    @discardableResult
    public func train(on replay: any TransitionSampler, rng: inout SeededGenerator) -> OffPolicyLosses {
        clock?.enter(.sampling)
        replay.sample(into: batch, using: &rng)
        if let statistics = observationStatistics {
            statistics.normalize(batch.observations, rows: batch.size, into: batch.observations)
            statistics.normalize(batch.nextObservations, rows: batch.size, into: batch.nextObservations)
        }
        let count = batch.size * actionDimensions
        for k in 0..<count { noise[k] = Float(rng.nextGaussian()) }
        for k in 0..<count { nextNoise[k] = Float(rng.nextGaussian()) }
        return train(on: batch, noise: noise, nextNoise: nextNoise)
    }

    /// One gradient step on `batch` with the given standard-normal noise (B, A) each: SAC samples the policy's
    /// actions for the observations with `noise` and for the next observations with `nextNoise`; TD3 smooths target
    /// actions with `nextNoise` × target_policy_noise, clipped (its `noise` is unused).
    public func train(on batch: TransitionBuffer.Batch, noise: UnsafePointer<Float>, nextNoise: UnsafePointer<Float>) -> OffPolicyLosses {
        updates += 1
        switch algorithm {
        case .sac: return trainSAC(batch, noise: noise, nextNoise: nextNoise)
        case .td3: return trainTD3(batch, nextNoise: nextNoise)
        }
    }

    private func trainSAC(_ batch: TransitionBuffer.Batch, noise: UnsafePointer<Float>, nextNoise: UnsafePointer<Float>) -> OffPolicyLosses {
        guard let actor = gaussianActor else { preconditionFailure("SAC step without a Gaussian actor") }
        let B = batch.size, A = actionDimensions, n = critic.count, gamma = Float(config.gamma)
        var losses = OffPolicyLosses()
        clock?.enter(.forward)
        // The next observations' actions first: the actor keeps the current observations' pass for its backward.
        let next = actor.sample(batch.nextObservations, rows: B, noise: nextNoise)
        nextActions.update(from: next.actions, count: B * A)
        nextLogProbabilities.update(from: next.logProbabilities, count: B)
        let (actionsPi, logProbabilities) = actor.sample(batch.observations, rows: B, noise: noise)

        // Temperature: α = exp(log α) before its update; loss −mean(log α · (log π + target entropy)).
        let alpha = entropyCoefficient
        losses.entropyCoefficient = alpha
        if let logAlpha = logEntropyCoefficient, let optimizer = entropyOptimizer {
            var mean: Double = 0
            for r in 0..<B { mean += Double(logProbabilities[r] + targetEntropy) }
            mean /= Double(B)
            losses.entropyCoefficientLoss = -logAlpha.value[0] * Float(mean)
            logAlpha.grad[0] = -Float(mean)
            clock?.enter(.optimizer)
            optimizer.step()
            clock?.enter(.forward)
        }

        // Critic: y = r + γ(1 − terminated)(min_i Q′_i(s′, a′) − α log π(a′|s′)); loss ½ Σ_i mean((Q_i(s, a) − y)²).
        let nextQ = criticTarget.forward(batch.nextObservations, actions: nextActions, rows: B)
        for r in 0..<B {
            var smallest = nextQ[r]
            for i in 1..<n { smallest = min(smallest, nextQ[i * B + r]) }
            targets[r] = batch.rewards[r] + (1 - batch.terminated[r]) * gamma * (smallest - alpha * nextLogProbabilities[r])
        }
        losses.critic = regressCritics(batch, halfSquaredError: true)

        // Actor: mean(α log π − min_i Q_i(s, a_π)), through the updated critics.
        clock?.enter(.forward)
        let q = critic.forward(batch.observations, actions: actionsPi, rows: B)
        qGradient.update(repeating: 0, count: n * B)
        var actorLoss: Double = 0
        for r in 0..<B {
            var best = 0
            for i in 1..<n where q[i * B + r] < q[best * B + r] { best = i }
            actorLoss += Double(alpha * logProbabilities[r] - q[best * B + r])
            qGradient[best * B + r] = -1 / Float(B)
            logProbabilityGradient[r] = alpha / Float(B)
        }
        losses.actor = Float(actorLoss / Double(B))
        clock?.enter(.backward)
        let actionGradient = critic.backward(qGradient, critics: n, parameterGradients: false)
        actorParameters.zeroGrad()
        actor.backward(actionGradient: actionGradient, logProbabilityGradient: logProbabilityGradient)
        clock?.enter(.optimizer)
        actorOptimizer.step()

        if updates % config.targetUpdateInterval == 0 {
            criticTargetParameters.moveToward(criticParameters, tau: Float(config.tau))
        }
        return losses
    }

    private func trainTD3(_ batch: TransitionBuffer.Batch, nextNoise: UnsafePointer<Float>) -> OffPolicyLosses {
        guard let actor = deterministicActor, let target = actorTarget, let targetParameters = actorTargetParameters else {
            preconditionFailure("TD3 step without a deterministic actor")
        }
        let B = batch.size, A = actionDimensions, n = critic.count, gamma = Float(config.gamma)
        var losses = OffPolicyLosses()
        clock?.enter(.forward)
        // Target actions smoothed with clipped noise: clip(μ′(s′) + clip(σ ε, −c, c), −1, 1).
        let sigma = Float(config.targetPolicyNoise), clip = Float(config.targetNoiseClip)
        let mu = target.forward(batch.nextObservations, rows: B)
        for k in 0..<(B * A) {
            let smoothing = min(max(sigma * nextNoise[k], -clip), clip)
            nextActions[k] = min(max(mu[k] + smoothing, -1), 1)
        }
        let nextQ = criticTarget.forward(batch.nextObservations, actions: nextActions, rows: B)
        for r in 0..<B {
            var smallest = nextQ[r]
            for i in 1..<n { smallest = min(smallest, nextQ[i * B + r]) }
            targets[r] = batch.rewards[r] + (1 - batch.terminated[r]) * gamma * smallest
        }
        losses.critic = regressCritics(batch, halfSquaredError: false)

        if updates % config.policyDelay == 0 {
            // Actor: −mean Q_0(s, μ(s)), through the first critic only; then both targets move.
            clock?.enter(.forward)
            let actions = actor.forward(batch.observations, rows: B)
            let q = critic.forward(batch.observations, actions: actions, rows: B)
            var actorLoss: Double = 0
            for r in 0..<B {
                actorLoss -= Double(q[r])
                qGradient[r] = -1 / Float(B)
            }
            losses.actor = Float(actorLoss / Double(B))
            clock?.enter(.backward)
            let actionGradient = critic.backward(qGradient, critics: 1, parameterGradients: false)
            actorParameters.zeroGrad()
            actor.backward(actionGradient: actionGradient)
            clock?.enter(.optimizer)
            actorOptimizer.step()
            criticTargetParameters.moveToward(criticParameters, tau: Float(config.tau))
            targetParameters.moveToward(actorParameters, tau: Float(config.tau))
        }
        return losses
    }

    /// Regresses every critic on `targets`: loss Σ_i mean((Q_i(s, a) − y)²), halved for SAC. Takes the critics'
    /// optimizer step and returns the loss.
    private func regressCritics(_ batch: TransitionBuffer.Batch, halfSquaredError: Bool) -> Float {
        let B = batch.size, n = critic.count
        let q = critic.forward(batch.observations, actions: batch.actions, rows: B)
        let scale: Float = halfSquaredError ? 1 : 2
        var loss: Double = 0
        for i in 0..<n {
            for r in 0..<B {
                let error = q[i * B + r] - targets[r]
                loss += Double(error * error)
                qGradient[i * B + r] = scale * error / Float(B)
            }
        }
        clock?.enter(.backward)
        criticParameters.zeroGrad()
        critic.backward(qGradient, critics: n, parameterGradients: true)
        clock?.enter(.optimizer)
        criticOptimizer.step()
        return Float(loss / Double(B) * (halfSquaredError ? 0.5 : 1))
    }
}
