import Foundation
import Neural
import Sim

/// PPO (Schulman et al. 2017) and A2C (Mnih et al. 2016) over one actor-critic network. Owns the policy, the
/// optimizer and the minibatch buffers; the run loop (collect a rollout, compute advantages, update) lives in
/// Training. A2C is the unclipped, single-pass, full-batch case of the same update.
public final class ActorCriticAgent {
    public enum Algorithm: String, Sendable { case ppo, a2c }

    /// One update's diagnostics (means over its gradient steps).
    public struct UpdateStatistics: Sendable {
        public var policyLoss = 0.0, valueLoss = 0.0, entropy = 0.0, approximateKL = 0.0, clipFraction = 0.0
        public var gradientSteps = 0
        public var stoppedEarly = false
    }

    /// Charged with the parts of each gradient step when set (`dojo train --profile`).
    public var clock: PhaseClock?
    public let config: ActorCriticConfig
    public let algorithm: Algorithm
    public let policy: ActorCriticPolicy
    public let parameters: ParameterArena
    public let optimizer: any Optimizer
    public let observationSize: Int
    public let actionWidth: Int
    public let distribution: ActorCriticPolicy.Distribution
    /// The LSTM encoder of a recurrent policy (nil for feed-forward ones).
    public let recurrent: LSTMEncoder?
    /// Box bounds of continuous actions (empty for discrete ones).
    let actionLow: [Float], actionHigh: [Float]

    // Minibatch buffers, sized for the largest batch (the whole rollout for A2C).
    private let capacity: Int
    private let batchObservations: UnsafeMutablePointer<Float>
    private let batchActions: UnsafeMutablePointer<Float>
    private let batchIndices: UnsafeMutablePointer<Int32>   // discrete actions as indices
    private let batchAdvantages: UnsafeMutablePointer<Float>
    private let batchReturns: UnsafeMutablePointer<Float>
    private let batchOldLogProbabilities: UnsafeMutablePointer<Float>
    private let batchOldValues: UnsafeMutablePointer<Float>
    private let logProbabilities: UnsafeMutablePointer<Float>
    private let entropies: UnsafeMutablePointer<Float>
    private let logProbabilityGradient: UnsafeMutablePointer<Float>
    private let entropyGradient: UnsafeMutablePointer<Float>
    private let headGradient: UnsafeMutablePointer<Float>
    private let valueGradient: UnsafeMutablePointer<Float>
    private var permutation: [Int]
    /// Recurrent minibatches: the sequences' initial states (units, H) and reset mask (units, T), batch-major.
    private let batchInitialHidden: UnsafeMutablePointer<Float>
    private let batchInitialCell: UnsafeMutablePointer<Float>
    private let batchResetMask: UnsafeMutablePointer<Float>
    private let unitsPerBatch: Int
    private var batchSequences = 0

    /// `observationKind` `.cellCodes` puts a ``CellCodeExpander`` before the MLP trunks.
    public init(config: ActorCriticConfig, algorithm: Algorithm, observationSpace: Space,
                observationKind: ObservationKind = .continuous, actionSpace: Space, rolloutRows: Int, rng: inout SeededGenerator) {
        self.config = config
        self.algorithm = algorithm
        observationSize = observationSpace.flatCount
        switch actionSpace {
        case .discrete(let n):
            distribution = .categorical(actions: n)
            actionLow = []; actionHigh = []
        case .box(let low, let high, _):
            distribution = .gaussian(dimensions: low.count)
            actionLow = low; actionHigh = high
        default:
            preconditionFailure("actor-critic agents need discrete or box actions, got \(actionSpace)")
        }
        actionWidth = actionSpace.actionWidth
        var encoder: (any ObservationEncoder)? = config.encoder == "mlp" ? CellCodeExpander.make(for: observationKind) : nil
        if config.encoder == "attention" {
            encoder = EgoAttentionEncoder.make(for: observationSpace, embedDimension: config.embedDim, heads: config.attentionHeads,
                                               rng: &rng)
        }
        switch (config.encoder, observationSpace) {
        case ("lstm", _):
            let lstm = LSTMEncoder(inputSize: observationSpace.flatCount, hiddenSize: config.lstmHidden, rng: &rng)
            recurrent = lstm
            encoder = lstm
        case ("attention-lstm", .entitySet(let rows, let features)):
            let combined = AttentionLSTMEncoder(entities: rows, features: features, embedDimension: config.embedDim,
                                                heads: config.attentionHeads, hiddenSize: config.lstmHidden, rng: &rng)
            recurrent = combined.recurrent
            encoder = combined
        default:
            recurrent = nil
        }
        policy = ActorCriticPolicy(observationSize: observationSize, distribution: distribution, hiddenSizes: config.netArch,
                                   activation: Activation.Function(rawValue: config.activationFn) ?? .tanh,
                                   orthogonal: config.orthoInit, logStdInit: Float(config.logStdInit), encoder: encoder,
                                   rng: &rng)
        parameters = ParameterArena(module: policy, prefix: "policy.")
        if config.optimizer == "rmsprop" {
            optimizer = RMSProp(parameters, learningRate: Float(config.learningRate), alpha: 0.99,
                                epsilon: Float(config.rmspropEps))
        } else {
            optimizer = Adam(parameters, learningRate: Float(config.learningRate), epsilon: 1e-5)
        }
        // Recurrent minibatches hold whole copies' rollouts: batch_size / n_steps of them (all for A2C).
        let sequenceSteps = recurrent != nil ? config.nSteps : 1
        let units = rolloutRows / sequenceSteps
        unitsPerBatch = algorithm == .a2c ? units : max(1, min(config.batchSize / sequenceSteps, units))
        capacity = unitsPerBatch * sequenceSteps
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
            return pointer
        }
        batchObservations = floats(capacity * observationSize)
        batchActions = floats(capacity * actionWidth)
        batchIndices = .allocate(capacity: capacity); batchIndices.initialize(repeating: 0, count: capacity)
        batchAdvantages = floats(capacity); batchReturns = floats(capacity)
        batchOldLogProbabilities = floats(capacity); batchOldValues = floats(capacity)
        logProbabilities = floats(capacity); entropies = floats(capacity)
        logProbabilityGradient = floats(capacity); entropyGradient = floats(capacity)
        headGradient = floats(capacity * distribution.width); valueGradient = floats(capacity)
        permutation = Array(0..<rolloutRows)
        let H = config.lstmHidden
        batchInitialHidden = floats(recurrent != nil ? unitsPerBatch * H : 1)
        batchInitialCell = floats(recurrent != nil ? unitsPerBatch * H : 1)
        batchResetMask = floats(capacity)
    }

    deinit {
        for pointer in [batchObservations, batchActions, batchAdvantages, batchReturns, batchOldLogProbabilities,
                        batchOldValues, logProbabilities, entropies, logProbabilityGradient, entropyGradient,
                        headGradient, valueGradient, batchInitialHidden, batchInitialCell, batchResetMask] { pointer.deallocate() }
        batchIndices.deallocate()
    }

    // MARK: Acting

    /// Actions for `rows` observations: sampled from the policy (or its mode when `deterministic`). Writes the
    /// environment's actions (`actionWidth` floats per row, Gaussian samples clipped to the bounds), the raw samples
    /// the update needs, the value estimates and the log-probabilities of the raw samples.
    ///
    /// `values` may be nil when no value estimate is wanted (evaluation): the critic is then skipped.
    /// Recurrent policies take each row's LSTM state (`state`: hidden and cell, (rows, H), advanced in place) and
    /// whether the row's observation starts an episode (`starts`, rows; the state is zeroed there).
    public func act(_ observations: UnsafePointer<Float>, rows: Int, deterministic: Bool, rng: inout SeededGenerator,
                    environmentActions: UnsafeMutablePointer<Float>, rawActions: UnsafeMutablePointer<Float>,
                    values: UnsafeMutablePointer<Float>?, logProbabilities out: UnsafeMutablePointer<Float>,
                    state: RecurrentState? = nil) {
        let (head, predicted) = forwardOneStep(observations, rows: rows, state: state, advance: true, withValues: values != nil)
        switch distribution {
        case .categorical(let n):
            for r in 0..<rows {
                let z = head + r * n
                var maximum = -Float.infinity
                for j in 0..<n { maximum = max(maximum, z[j]) }
                var total: Float = 0
                for j in 0..<n { total += expf(z[j] - maximum) }
                var choice = 0
                if deterministic {
                    for j in 1..<n where z[j] > z[choice] { choice = j }
                } else {
                    var u = rng.nextFloat() * total
                    choice = n - 1
                    for j in 0..<n {
                        u -= expf(z[j] - maximum)
                        if u < 0 { choice = j; break }
                    }
                }
                rawActions[r] = Float(choice)
                environmentActions[r] = Float(choice)
                out[r] = z[choice] - maximum - logf(total)
                values?[r] = predicted?[r] ?? 0
            }
        case .gaussian(let d):
            let logStd = policy.logStd!.value
            for r in 0..<rows {
                var logProbability: Float = 0
                for j in 0..<d {
                    let mean = head[r * d + j], std = expf(logStd[j])
                    let noise: Float = deterministic ? 0 : Float(rng.nextGaussian())
                    let sample = mean + std * noise
                    rawActions[r * d + j] = sample
                    environmentActions[r * d + j] = min(max(sample, actionLow[j]), actionHigh[j])
                    logProbability += -0.5 * noise * noise - logStd[j] - 0.918_938_53  // ½ log 2π
                }
                out[r] = logProbability
                values?[r] = predicted?[r] ?? 0
            }
        }
    }

    /// Value estimates (B) of `rows` observations into `values`; recurrent policies continue from `state` without
    /// advancing it.
    public func predictValues(_ observations: UnsafePointer<Float>, rows: Int, into values: UnsafeMutablePointer<Float>,
                              state: RecurrentState? = nil) {
        let predicted = forwardOneStep(observations, rows: rows, state: state, advance: false, withValues: true).values!
        values.update(from: predicted, count: rows)
    }

    /// Per-row LSTM state for acting: hidden and cell (rows, H) and episode-start flags (rows).
    public struct RecurrentState {
        public let hidden: UnsafeMutablePointer<Float>
        public let cell: UnsafeMutablePointer<Float>
        public let starts: UnsafePointer<Float>
        public init(hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>, starts: UnsafePointer<Float>) {
            self.hidden = hidden
            self.cell = cell
            self.starts = starts
        }
    }

    /// One step's head outputs and (when `withValues`) values; recurrent policies step from `state`.
    private func forwardOneStep(_ observations: UnsafePointer<Float>, rows: Int, state: RecurrentState?, advance: Bool,
                                withValues: Bool) -> (head: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>?) {
        func forward() -> (head: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>?) {
            if withValues { let output = policy.forward(observations, rows: rows); return (output.head, output.values) }
            return (policy.forwardHead(observations, rows: rows), nil)
        }
        guard let recurrent else { return forward() }
        guard let state else { preconditionFailure("a recurrent policy acts with its LSTM state") }
        recurrent.prepare(batch: rows, steps: 1, initialHidden: state.hidden, initialCell: state.cell, resetMask: state.starts)
        let output = forward()
        if advance {
            state.hidden.update(from: recurrent.finalHidden, count: rows * config.lstmHidden)
            state.cell.update(from: recurrent.finalCell, count: rows * config.lstmHidden)
        }
        return output
    }

    // MARK: Learning

    /// One update on a full rollout whose advantages are computed: PPO's epochs of shuffled minibatches, or A2C's
    /// single full-batch step. `progress` ∈ [0, 1] anneals the learning rate and clip range when configured.
    public func update(on buffer: RolloutBuffer, progress: Double, rng: inout SeededGenerator) -> UpdateStatistics {
        if let end = config.learningRateEnd {
            optimizer.learningRate = Float(config.learningRate + (end - config.learningRate) * progress)
        }
        let clip = Float(config.clipRange + ((config.clipRangeEnd ?? config.clipRange) - config.clipRange) * progress)
        var statistics = UpdateStatistics()
        // What is shuffled: rows, or for recurrent policies whole copies' rollouts.
        let units = recurrent != nil ? buffer.copies : buffer.rows
        let epochs = algorithm == .a2c ? 1 : config.nEpochs
        epochLoop: for _ in 0..<epochs {
            for k in 0..<units { permutation[k] = k }
            if algorithm == .ppo {  // a fresh permutation each epoch (Fisher–Yates with the run's generator)
                for k in stride(from: units - 1, to: 0, by: -1) { permutation.swapAt(k, rng.nextInt(below: k + 1)) }
            }
            var start = 0
            while start < units {
                let count = min(unitsPerBatch, units - start)
                clock?.enter(.sampling)
                let rows: Int
                if recurrent != nil {
                    gatherSequences(buffer, from: start, count: count)
                    rows = count * buffer.steps
                } else {
                    gather(buffer, from: start, rows: count)
                    rows = count
                }
                start += count
                let step = gradientStep(rows: rows, clip: clip)
                if !step.applied {
                    statistics.stoppedEarly = true
                    break epochLoop
                }
                statistics.policyLoss += step.policyLoss; statistics.valueLoss += step.valueLoss
                statistics.entropy += step.entropy; statistics.approximateKL += step.approximateKL
                statistics.clipFraction += step.clipFraction
                statistics.gradientSteps += 1
            }
        }
        let n = Double(max(statistics.gradientSteps, 1))
        statistics.policyLoss /= n; statistics.valueLoss /= n; statistics.entropy /= n
        statistics.approximateKL /= n; statistics.clipFraction /= n
        return statistics
    }

    /// Copies rows `permutation[start..<start+rows]` of the rollout into the minibatch buffers.
    private func gather(_ buffer: RolloutBuffer, from start: Int, rows: Int) {
        for k in 0..<rows { copyRow(buffer, permutation[start + k], to: k) }
        normalizeAdvantages(rows: rows)
    }

    /// Copies rollout row `source` into minibatch row `k`.
    @inline(__always)
    private func copyRow(_ buffer: RolloutBuffer, _ source: Int, to k: Int) {
        (batchObservations + k * observationSize).update(from: buffer.observations + source * observationSize, count: observationSize)
        (batchActions + k * actionWidth).update(from: buffer.actions + source * actionWidth, count: actionWidth)
        batchIndices[k] = Int32(buffer.actions[source * actionWidth])
        batchAdvantages[k] = buffer.advantages[source]
        batchReturns[k] = buffer.returns[source]
        batchOldLogProbabilities[k] = buffer.logProbabilities[source]
        batchOldValues[k] = buffer.values[source]
        batchResetMask[k] = buffer.episodeStarts[source]
    }

    /// Copies whole rollouts of copies `permutation[start..<start+count]` into the minibatch, batch-major (sequence b,
    /// step t at row b·T + t), with their initial LSTM states and episode-start reset mask.
    func gatherSequences(_ buffer: RolloutBuffer, from start: Int, count: Int) {
        let T = buffer.steps, N = buffer.copies, H = config.lstmHidden
        for b in 0..<count {
            let copy = permutation[start + b]
            (batchInitialHidden + b * H).update(from: buffer.initialHidden + copy * H, count: H)
            (batchInitialCell + b * H).update(from: buffer.initialCell + copy * H, count: H)
            for t in 0..<T { copyRow(buffer, t * N + copy, to: b * T + t) }
        }
        batchSequences = count
        normalizeAdvantages(rows: count * T)
    }

    /// Fills the minibatch from arrays (rows of observations, actions, old log-probabilities, advantages, returns,
    /// old values), as `gather` does from a rollout; for tests against reference losses.
    func setBatch(observations: [Float], actions: [Float], oldLogProbabilities: [Float], advantages: [Float],
                  returns: [Float], oldValues: [Float]) {
        let rows = advantages.count
        precondition(rows <= capacity, "a batch of \(rows) rows exceeds the agent's \(capacity)")
        for k in 0..<rows {
            for j in 0..<observationSize { batchObservations[k * observationSize + j] = observations[k * observationSize + j] }
            for j in 0..<actionWidth { batchActions[k * actionWidth + j] = actions[k * actionWidth + j] }
            batchIndices[k] = Int32(actions[k * actionWidth])
            batchAdvantages[k] = advantages[k]; batchReturns[k] = returns[k]
            batchOldLogProbabilities[k] = oldLogProbabilities[k]; batchOldValues[k] = oldValues[k]
        }
        normalizeAdvantages(rows: rows)
    }

    /// Normalizes the batch's advantages to zero mean and unit (unbiased) standard deviation, when configured.
    private func normalizeAdvantages(rows: Int) {
        if config.normalizeAdvantage && rows > 1 {
            var mean: Float = 0
            for k in 0..<rows { mean += batchAdvantages[k] }
            mean /= Float(rows)
            var variance: Float = 0
            for k in 0..<rows { variance += (batchAdvantages[k] - mean) * (batchAdvantages[k] - mean) }
            let std = (variance / Float(rows - 1)).squareRoot()  // torch.std is unbiased
            for k in 0..<rows { batchAdvantages[k] = (batchAdvantages[k] - mean) / (std + 1e-8) }
        }
    }

    struct StepStatistics {
        var policyLoss = 0.0, valueLoss = 0.0, entropy = 0.0, approximateKL = 0.0, clipFraction = 0.0
        /// False when the approximate KL exceeded 1.5 × target_kl, so no step was taken (SB3's early stop).
        var applied = true
    }

    /// Loss, gradients and one optimizer step on the gathered minibatch of `rows` rows:
    /// L = −mean(min(ρA, clip(ρ, 1 ± ε)A)) + vf_coef·mean((V − R)²) − ent_coef·mean(H), ρ = exp(log π − log π_old);
    /// A2C: −mean(A log π) for the first term. Returns the terms before the step (means over the rows).
    func gradientStep(rows: Int, clip: Float) -> StepStatistics {
        let s = lossAndGradients(rows: rows, clip: clip)
        guard s.applied else { return s }
        clock?.enter(.optimizer)
        Regularization.clipGradientNorm(parameters, maxNorm: Float(config.maxGradNorm))
        optimizer.step()
        return s
    }

    /// The loss terms of the gathered minibatch and, unless the KL early stop triggers, the gradients of the total
    /// loss in `parameters.grads` (zeroed first).
    func lossAndGradients(rows: Int, clip: Float) -> StepStatistics {
        var s = StepStatistics()
        clock?.enter(.forward)
        parameters.zeroGrad()
        if let recurrent {
            recurrent.prepare(batch: batchSequences, steps: rows / batchSequences, initialHidden: batchInitialHidden,
                              initialCell: batchInitialCell, resetMask: batchResetMask)
        }
        let (head, values) = policy.forward(batchObservations, rows: rows)
        let width = distribution.width
        switch distribution {
        case .categorical(let n):
            Categorical.logProbability(logits: head, actions: batchIndices, rows: rows, classes: n, into: logProbabilities)
            Categorical.entropy(logits: head, rows: rows, classes: n, into: entropies)
        case .gaussian(let d):
            DiagonalGaussian.logProbability(mean: head, logStd: policy.logStd!.value, actions: batchActions, rows: rows,
                                            dims: d, into: logProbabilities)
            let h = DiagonalGaussian.entropy(logStd: policy.logStd!.value, dims: d)
            for k in 0..<rows { entropies[k] = h }
        }
        let inverseRows = 1 / Float(rows)
        let entCoef = Float(config.entCoef), vfCoef = Float(config.vfCoef)
        for k in 0..<rows {
            let advantage = batchAdvantages[k]
            let logRatio = logProbabilities[k] - batchOldLogProbabilities[k]
            let ratio = expf(logRatio)
            if algorithm == .a2c {
                s.policyLoss -= Double(advantage * logProbabilities[k])
                logProbabilityGradient[k] = -advantage * inverseRows
            } else {
                let unclipped = ratio * advantage
                let clipped = min(max(ratio, 1 - clip), 1 + clip) * advantage
                s.policyLoss -= Double(min(unclipped, clipped))
                // The minimum follows the unclipped term (gradient ρA) unless clipping made it smaller.
                logProbabilityGradient[k] = unclipped <= clipped ? -unclipped * inverseRows : 0
                if abs(ratio - 1) > clip { s.clipFraction += 1 }
            }
            s.approximateKL += Double((ratio - 1) - logRatio)
            s.entropy += Double(entropies[k])
            entropyGradient[k] = -entCoef * inverseRows
            // Value loss, optionally on the prediction clipped around the rollout's value (SB3's clip_range_vf).
            var prediction = values[k], slope: Float = 1
            if let vfClip = config.clipRangeVf.map(Float.init) {
                let change = values[k] - batchOldValues[k]
                if abs(change) > vfClip { prediction = batchOldValues[k] + (change > 0 ? vfClip : -vfClip); slope = 0 }
            }
            let error = prediction - batchReturns[k]
            s.valueLoss += Double(error * error)
            valueGradient[k] = vfCoef * 2 * error * slope * inverseRows
        }
        let n = Double(rows)
        s.policyLoss /= n; s.valueLoss /= n; s.entropy /= n; s.approximateKL /= n; s.clipFraction /= n
        if let target = config.targetKl, s.approximateKL > 1.5 * target {
            s.applied = false
            return s
        }
        headGradient.update(repeating: 0, count: rows * width)
        switch distribution {
        case .categorical(let n):
            Categorical.logProbabilityBackward(logits: head, actions: batchIndices, rows: rows, classes: n,
                                               upstream: logProbabilityGradient, logitGradient: headGradient)
            Categorical.entropyBackward(logits: head, rows: rows, classes: n, upstream: entropyGradient,
                                        logitGradient: headGradient)
        case .gaussian(let d):
            let logStd = policy.logStd!
            DiagonalGaussian.logProbabilityBackward(mean: head, logStd: logStd.value, actions: batchActions, rows: rows,
                                                    dims: d, upstream: logProbabilityGradient, meanGradient: headGradient,
                                                    logStdGradient: logStd.grad)
            for j in 0..<d { logStd.grad[j] += -entCoef }  // dH/d log σ_j = 1 in every row
        }
        clock?.enter(.backward)
        policy.backward(head: headGradient, values: valueGradient)
        return s
    }
}
