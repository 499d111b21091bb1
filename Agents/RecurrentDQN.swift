import Foundation
import Neural
import Sim

/// Recurrent DQN (DRQN with R2D2-style windows): an LSTM Q-network trained on windows of stored episodes. Windows
/// start from the state the actor had there (zero at an episode start); windows starting inside an episode spend
/// `burn_in` steps refreshing that state without loss. Acting carries each copy's LSTM state and resets it at
/// episode starts. Double DQN and Polyak updates apply; n-step returns
/// and prioritized replay do not (they are rejected by validation).
public final class RecurrentDQNAgent {
    public let config: DQNConfig
    public let observationSize: Int
    public let actionCount: Int
    public let online: RecurrentQNetwork
    public let target: RecurrentQNetwork
    public let onlineParameters: ParameterArena
    public let targetParameters: ParameterArena
    public let optimizer: Adam
    public let batch: EpisodeReplayBuffer.Batch
    private let qGradient: UnsafeMutablePointer<Float>   // (B, L + 1, actions)

    public init(config: DQNConfig, observationSpace: Space, actionSpace: Space, rng: inout SeededGenerator) {
        guard case .discrete(let actions) = actionSpace else { preconditionFailure("DQN needs a discrete action space") }
        self.config = config
        observationSize = observationSpace.flatCount
        actionCount = actions
        let embed = config.netArch.first ?? 64
        online = RecurrentQNetwork(observationSize: observationSize, actionCount: actions, embedSize: embed,
                                   hiddenSize: config.lstmHidden, rng: &rng)
        var targetRNG = rng
        target = RecurrentQNetwork(observationSize: observationSize, actionCount: actions, embedSize: embed,
                                   hiddenSize: config.lstmHidden, rng: &targetRNG)
        onlineParameters = ParameterArena(module: online, prefix: "q_net.")
        targetParameters = ParameterArena(module: target, prefix: "q_net_target.")
        targetParameters.copyValues(from: onlineParameters)
        optimizer = Adam(onlineParameters, learningRate: Float(config.learningRate))
        batch = EpisodeReplayBuffer.Batch(size: config.batchSize, steps: config.sequenceLength, observationSize: observationSize,
                                          stateSize: config.lstmHidden)
        qGradient = .allocate(capacity: config.batchSize * (config.sequenceLength + 1) * actions)
    }

    deinit { qGradient.deallocate() }

    /// Greedy actions for `rows` copies one step on, carrying their LSTM state in `hidden`/`cell` (rows, H), which is
    /// zeroed first where `starts[i]` (a new episode).
    public func greedyActions(_ observations: UnsafePointer<Float>, rows: Int, hidden: UnsafeMutablePointer<Float>,
                              cell: UnsafeMutablePointer<Float>, starts: UnsafePointer<Bool>, into actions: UnsafeMutablePointer<Float>) {
        let H = config.lstmHidden
        for i in 0..<rows where starts[i] {
            (hidden + i * H).update(repeating: 0, count: H)
            (cell + i * H).update(repeating: 0, count: H)
        }
        let q = online.forward(observations, batch: rows, steps: 1, initialHidden: hidden, initialCell: cell)
        hidden.update(from: online.lstm.finalHidden, count: rows * H)
        cell.update(from: online.lstm.finalCell, count: rows * H)
        for r in 0..<rows { actions[r] = Float(DQNAgent.argmax(q + r * actionCount, count: actionCount)) }
    }

    /// One gradient step on a batch of episode windows. Returns the Huber loss averaged over the steps that count.
    @discardableResult
    public func train(on buffer: EpisodeReplayBuffer, rng: inout SeededGenerator) -> Float {
        buffer.sample(into: batch, burnIn: config.burnIn, using: &rng)
        let B = batch.size, L = batch.steps, A = actionCount, T = L + 1
        let gamma = Float(config.gamma)
        // Both networks start each window from the actor's stored state (R2D2).
        let qTarget = target.forward(batch.observations, batch: B, steps: T, initialHidden: batch.initialHidden,
                                     initialCell: batch.initialCell)
        let qOnline = online.forward(batch.observations, batch: B, steps: T, initialHidden: batch.initialHidden,
                                     initialCell: batch.initialCell)
        qGradient.update(repeating: 0, count: B * T * A)
        var counted: Float = 0
        for k in 0..<(B * L) where batch.mask[k] != 0 { counted += 1 }
        guard counted > 0 else { return 0 }
        var loss = 0.0
        onlineParameters.zeroGrad()
        for b in 0..<B {
            for t in 0..<L where batch.mask[b * L + t] != 0 {
                let next = (b * T + t + 1) * A
                let chosen = config.doubleQ ? DQNAgent.argmax(qOnline + next, count: A) : DQNAgent.argmax(qTarget + next, count: A)
                let bootstrap = (1 - batch.terminal[b * L + t]) * qTarget[next + chosen]
                let y = batch.rewards[b * L + t] + gamma * bootstrap
                let index = (b * T + t) * A + Int(batch.actions[b * L + t])
                let error = qOnline[index] - y
                let (term, slope) = Loss.huber(error: error)
                loss += Double(term)
                qGradient[index] = slope / counted
            }
        }
        online.backward(qGradient)
        Regularization.clipGradientNorm(onlineParameters, maxNorm: Float(config.maxGradNorm))
        optimizer.step()
        return Float(loss / Double(counted))
    }

    public func updateTarget() { targetParameters.moveToward(onlineParameters, tau: Float(config.tau)) }
}
