import Agents
import Foundation
import Neural
import Sim

/// One of DQN's learners as the run loop sees it: it acts greedily for every environment copy, stores what each step
/// gave, learns from its replay, moves its target network, and saves and restores all of it. The feed-forward learner
/// replays n-step transitions; the recurrent one replays episode windows with the LSTM states they were acted from.
protocol QLearner: AnyObject {
    var actionCount: Int { get }
    var optimizer: Adam { get }
    var onlineParameters: ParameterArena { get }
    /// The online network (for the model card).
    var onlineNetwork: any Module { get }
    /// The weights saved in checkpoints: `q_net.*` and `q_net_target.*`.
    var modelEntries: [StateEntry] { get }
    /// Whether the replay holds enough to sample a minibatch.
    var canLearn: Bool { get }
    /// The replay buffer's fill and write position, saved among the run's counters (zero for the episode replay,
    /// which saves its own).
    var replayCounters: (count: Int, position: Int) { get }

    /// Starts every copy's episode from its first observation (copies × obs).
    func begin(observations: UnsafePointer<Float>)
    /// Greedy actions of every copy (copies × obs → copies).
    func act(_ observations: UnsafePointer<Float>, into actions: UnsafeMutablePointer<Float>)
    /// Stores copy `i`'s step: the observation it acted on, the action, the reward, the next observation (the final one
    /// when the episode ended) and, after an autoreset, the first observation of its next episode (`current`).
    func store(copy i: Int, observation: UnsafePointer<Float>, action: Int32, reward: Float, next: UnsafePointer<Float>,
               current: UnsafePointer<Float>, done: Bool, terminated: Bool)
    /// One gradient step on a sampled minibatch; returns the loss.
    func learn(beta: Double, rng: inout SeededGenerator) -> Float
    func updateTarget()
    /// The greedy policy of the online network, for evaluation.
    func greedyPolicy() -> any EvaluationPolicy
    func save(into file: inout SafeTensors.File)
    /// Restores what `save` wrote; every size and range is checked first (`path` labels errors).
    func restore(from state: SafeTensors.File, path: String, replayCounters: (count: Int, position: Int)) throws
}

extension QLearner {
    /// Lets the agent charge the parts of its gradient steps to `clock` (the recurrent agent's count as learning
    /// forward).
    func attach(_ clock: PhaseClock?) {
        if let agent = (self as? FeedForwardQLearner)?.agent ?? (self as? HindsightQLearner)?.agent { agent.clock = clock }
    }
}

/// DQN on goal-conditioned tasks with hindsight relabelling (replay_buffer_class HerReplayBuffer): one-step
/// transitions in the off-policy agents' replay, goals relabelled by ``HindsightReplayBuffer``.
final class HindsightQLearner: QLearner {
    let agent: DQNAgent
    let buffer: TransitionBuffer
    let hindsight: HindsightReplayBuffer
    private let transitions: TransitionBuffer.Batch
    private let copies: Int

    init(hyperparameters: DQNConfig, observationSpace: Space, observationKind: ObservationKind, actionSpace: Space, copies: Int,
         goals: any GoalConditionedEnvironment, rng: inout SeededGenerator) {
        agent = DQNAgent(config: hyperparameters, observationSpace: observationSpace, observationKind: observationKind,
                         actionSpace: actionSpace, rng: &rng)
        buffer = TransitionBuffer(capacity: hyperparameters.bufferSize, copies: copies, observationSpace: observationSpace,
                                  observationKind: observationKind, actionWidth: 1)
        hindsight = HindsightReplayBuffer(
            buffer: buffer, layout: goals.goalLayout,
            strategy: HindsightReplayBuffer.Strategy(rawValue: hyperparameters.goalSelectionStrategy) ?? .future,
            sampledGoals: hyperparameters.nSampledGoal, batchSize: hyperparameters.batchSize) { achieved, desired, count, rewards in
            goals.computeReward(achieved: achieved, desired: desired, count: count, into: rewards)
        }
        transitions = TransitionBuffer.Batch(size: hyperparameters.batchSize, observationSize: observationSpace.flatCount, actionWidth: 1)
        self.copies = copies
    }

    var actionCount: Int { agent.actionCount }
    var optimizer: Adam { agent.optimizer }
    var onlineParameters: ParameterArena { agent.onlineParameters }
    var onlineNetwork: any Module { agent.online }
    var modelEntries: [StateEntry] { agent.online.stateEntries(prefix: "q_net.") + agent.target.stateEntries(prefix: "q_net_target.") }
    var canLearn: Bool { hindsight.canSample }
    var replayCounters: (count: Int, position: Int) { (buffer.filledSteps, buffer.position) }

    func begin(observations: UnsafePointer<Float>) {}

    func act(_ observations: UnsafePointer<Float>, into actions: UnsafeMutablePointer<Float>) {
        agent.greedyActions(observations, rows: copies, into: actions)
    }

    /// Stores the step; the ring moves on once the last copy has stored.
    func store(copy i: Int, observation: UnsafePointer<Float>, action: Int32, reward: Float, next: UnsafePointer<Float>,
               current: UnsafePointer<Float>, done: Bool, terminated: Bool) {
        var value = Float(action)
        hindsight.store(copy: i, observation: observation, action: &value, reward: reward, nextObservation: next,
                        terminated: terminated, ended: done)
        if i == copies - 1 { hindsight.advance() }
    }

    func learn(beta: Double, rng: inout SeededGenerator) -> Float { agent.train(on: hindsight, transitions: transitions, rng: &rng) }
    func updateTarget() { agent.updateTarget() }
    func greedyPolicy() -> any EvaluationPolicy { GreedyPolicy(agent: agent) }

    func save(into file: inout SafeTensors.File) {
        let slots = buffer.count
        buffer.observations.save(rows: 2 * slots, as: "buffer.observations", into: &file)
        file.append("buffer.actions", Checkpoint.floats(buffer.actions, slots))
        file.append("buffer.rewards", Checkpoint.floats(buffer.rewards, slots))
        file.append("buffer.terminated", Checkpoint.floats(buffer.terminated, slots))
        file.append("buffer.her_episodes", Checkpoint.words(hindsight.savedBookkeeping.map(\.stateWord)))
    }

    /// `replayCounters` are the ring's filled rows and write position (vector steps).
    func restore(from state: SafeTensors.File, path: String, replayCounters: (count: Int, position: Int)) throws {
        let (filled, position) = replayCounters
        guard filled <= buffer.steps, position < buffer.steps, filled == buffer.steps || position == filled else {
            throw TrainingError.corruptCheckpoint("\(path): the replay's counters (\(filled) rows, position \(position)) do not "
                                                  + "fit its \(buffer.steps) rows")
        }
        let slots = filled * copies
        let observations = try buffer.observations.saved(rows: 2 * slots, as: "buffer.observations", in: state, path: path)
        let actions = try state.float32("buffer.actions", path: path, count: slots)
        let rewards = try state.float32("buffer.rewards", path: path, count: slots)
        let terminated = try state.float32("buffer.terminated", path: path, count: slots)
        guard actions.scalars.allSatisfy({ $0 >= 0 && $0 < Float(actionCount) && $0 == $0.rounded() }),
              terminated.scalars.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw TrainingError.corruptCheckpoint("\(path): buffer.actions must hold action indices in 0..<\(actionCount) and "
                                                  + "buffer.terminated 0 or 1")
        }
        let bookkeeping = try state.integers("buffer.her_episodes", path: path, in: 0...Checkpoint.maximumCount)
        buffer.observations.restore(observations)
        actions.copy(to: buffer.actions)
        rewards.copy(to: buffer.rewards)
        terminated.copy(to: buffer.terminated)
        buffer.restoreCounters(filledSteps: filled, position: position)
        if let problem = hindsight.restore(bookkeeping: bookkeeping) {
            throw TrainingError.corruptCheckpoint("\(path): tensor 'buffer.her_episodes': \(problem)")
        }
    }
}

/// DQN on single observations: a replay of n-step transitions (prioritized if asked), built from per-copy queues of
/// the last n steps. Every observation goes to the replay's rows once, when it is seen; the queues and transitions
/// name rows.
final class FeedForwardQLearner: QLearner {
    let agent: DQNAgent
    let buffer: ReplayBuffer
    private let copies: Int, observationSize: Int, n: Int, gamma: Float
    /// The replay row of each copy's current observation.
    private var currentRows: [Int]
    // n-step queues: per copy a ring of the last n (observation row, action, reward).
    private let queueRows: UnsafeMutablePointer<Int>            // copies × n
    private let queueActions: UnsafeMutablePointer<Int32>       // copies × n
    private let queueRewards: UnsafeMutablePointer<Float>       // copies × n
    private var queueCounts: [Int]
    private var queueHeads: [Int]

    init(hyperparameters: DQNConfig, observationSpace: Space, observationKind: ObservationKind, actionSpace: Space, copies: Int,
         rng: inout SeededGenerator) {
        agent = DQNAgent(config: hyperparameters, observationSpace: observationSpace, observationKind: observationKind,
                         actionSpace: actionSpace, rng: &rng)
        // Between a row's write and the last transition naming it: up to n + 1 vector steps of two rows per copy.
        buffer = ReplayBuffer(capacity: hyperparameters.bufferSize, observationSpace: observationSpace,
                              observationKind: observationKind, prioritized: hyperparameters.prioritizedReplay,
                              alpha: hyperparameters.priorityAlpha, reuseWindow: 2 * copies * (hyperparameters.nStep + 1))
        self.copies = copies
        observationSize = observationSpace.flatCount
        n = hyperparameters.nStep
        gamma = Float(hyperparameters.gamma)
        currentRows = [Int](repeating: 0, count: copies)
        queueRows = .allocate(capacity: copies * n); queueRows.initialize(repeating: 0, count: copies * n)
        queueActions = .allocate(capacity: copies * n); queueActions.initialize(repeating: 0, count: copies * n)
        queueRewards = .allocate(capacity: copies * n); queueRewards.initialize(repeating: 0, count: copies * n)
        queueCounts = [Int](repeating: 0, count: copies)
        queueHeads = [Int](repeating: 0, count: copies)
    }

    deinit { queueRows.deallocate(); queueActions.deallocate(); queueRewards.deallocate() }

    var actionCount: Int { agent.actionCount }
    var optimizer: Adam { agent.optimizer }
    var onlineParameters: ParameterArena { agent.onlineParameters }
    var onlineNetwork: any Module { agent.online }
    var modelEntries: [StateEntry] { agent.online.stateEntries(prefix: "q_net.") + agent.target.stateEntries(prefix: "q_net_target.") }
    var canLearn: Bool { true }
    var replayCounters: (count: Int, position: Int) { (buffer.count, buffer.position) }

    func begin(observations: UnsafePointer<Float>) {
        for i in 0..<copies { currentRows[i] = buffer.appendObservation(observations + i * observationSize) }
    }

    func act(_ observations: UnsafePointer<Float>, into actions: UnsafeMutablePointer<Float>) {
        agent.greedyActions(observations, rows: copies, into: actions)
    }

    /// Queues the step and emits the n-step transitions that are complete: the oldest once n are queued, all of them
    /// when the episode ends (bootstrapping only if it was truncated, not terminated). `next` goes to the replay's
    /// rows; after an episode's end so does `current`, the first observation of the next.
    func store(copy i: Int, observation: UnsafePointer<Float>, action: Int32, reward: Float, next: UnsafePointer<Float>,
               current: UnsafePointer<Float>, done: Bool, terminated: Bool) {
        let slot = (queueHeads[i] + queueCounts[i]) % n
        queueRows[i * n + slot] = currentRows[i]
        queueActions[i * n + slot] = action
        queueRewards[i * n + slot] = reward
        queueCounts[i] += 1
        let nextRow = buffer.appendObservation(next)
        func emitOldest(terminated: Bool) {
            let head = queueHeads[i], count = queueCounts[i]
            var total: Float = 0, discount: Float = 1
            for k in 0..<count {
                total += discount * queueRewards[i * n + (head + k) % n]
                discount *= gamma
            }
            buffer.add(observationRow: queueRows[i * n + head], action: Int(queueActions[i * n + head]), reward: total,
                       nextObservationRow: nextRow, terminated: terminated, discount: discount)
            queueHeads[i] = (head + 1) % n
            queueCounts[i] -= 1
        }
        if done {
            while queueCounts[i] > 0 { emitOldest(terminated: terminated) }
            queueHeads[i] = 0
            currentRows[i] = buffer.appendObservation(current)
        } else {
            if queueCounts[i] == n { emitOldest(terminated: false) }
            currentRows[i] = nextRow
        }
    }

    func learn(beta: Double, rng: inout SeededGenerator) -> Float { agent.train(on: buffer, beta: beta, rng: &rng) }
    func updateTarget() { agent.updateTarget() }
    func greedyPolicy() -> any EvaluationPolicy { GreedyPolicy(agent: agent) }

    func save(into file: inout SafeTensors.File) {
        file.append("nstep.rows", Checkpoint.words(((0..<(copies * n)).map { queueRows[$0] } + currentRows).map(\.stateWord)))
        file.append("nstep.actions", Checkpoint.words((0..<(copies * n)).map { Int(queueActions[$0]).stateWord }))
        file.append("nstep.rewards", Checkpoint.floats(queueRewards, copies * n))
        file.append("nstep.counts", Checkpoint.words(queueCounts.map(\.stateWord) + queueHeads.map(\.stateWord)))
        buffer.save(into: &file)
    }

    func restore(from state: SafeTensors.File, path: String, replayCounters: (count: Int, position: Int)) throws {
        if state.tensors["nstep.rows"] == nil && state.tensors["nstep.observations"] != nil {
            throw TrainingError.corruptCheckpoint("\(path): this training state is from an earlier Dojo, whose replay stored "
                                                  + "every observation twice; this version cannot continue it. Start a new "
                                                  + "run (the trained model still evaluates and plays: dojo eval, dojo watch)")
        }
        let rows = try state.integers("nstep.rows", path: path, count: copies * (n + 1), in: 0...Checkpoint.maximumCount)
        let queuedActions = try state.integers("nstep.actions", path: path, count: copies * n, in: 0...Int64(actionCount - 1))
        for (k, action) in queuedActions.enumerated() { queueActions[k] = Int32(action) }
        try Checkpoint.floats("nstep.rewards", in: state, path: path, into: queueRewards, count: copies * n)
        let queue = try state.integers("nstep.counts", path: path, count: 2 * copies, in: 0...Int64(n - 1))
        try buffer.restore(count: replayCounters.count, position: replayCounters.position, state: state, path: path,
                           actionCount: actionCount)
        // The queued and current rows must still be in the ring, and within reach of the transitions they will start.
        let kept = max(buffer.rowsWritten - buffer.reuseWindow, 0)..<buffer.rowsWritten
        let queued = (0..<copies).flatMap { i in (0..<queue[i]).map { k in rows[i * n + (queue[copies + i] + k) % n] } }
        guard (queued + rows[(copies * n)...]).allSatisfy({ kept.contains($0) }) else {
            throw TrainingError.corruptCheckpoint("\(path): tensor 'nstep.rows' names replay rows outside the last "
                                                  + "\(buffer.reuseWindow) written (rows \(kept))")
        }
        for k in 0..<(copies * n) { queueRows[k] = rows[k] }
        currentRows = Array(rows[(copies * n)...])
        queueCounts = Array(queue[0..<copies]); queueHeads = Array(queue[copies...])
    }
}

/// Recurrent DQN (R2D2-style): an episode replay whose windows start from the LSTM state each step was acted from.
final class RecurrentQLearner: QLearner {
    let agent: RecurrentDQNAgent
    let buffer: EpisodeReplayBuffer
    private let copies: Int, hiddenSize: Int
    // Acting state: each copy's LSTM state, whether its next step starts an episode, and the state it acted from.
    private let hiddenStates: UnsafeMutablePointer<Float>     // copies × H
    private let cellStates: UnsafeMutablePointer<Float>       // copies × H
    private let episodeStarts: UnsafeMutablePointer<Bool>     // copies
    private let statesBeforeStep: UnsafeMutablePointer<Float> // copies × 2H: (h, c)

    init(hyperparameters: DQNConfig, observationSpace: Space, observationKind: ObservationKind, actionSpace: Space, copies: Int,
         rng: inout SeededGenerator) {
        agent = RecurrentDQNAgent(config: hyperparameters, observationSpace: observationSpace, actionSpace: actionSpace, rng: &rng)
        buffer = EpisodeReplayBuffer(capacity: hyperparameters.bufferSize, observationSpace: observationSpace,
                                     observationKind: observationKind, copies: copies, stateSize: hyperparameters.lstmHidden)
        self.copies = copies
        hiddenSize = hyperparameters.lstmHidden
        let stateSize = copies * hiddenSize
        hiddenStates = .allocate(capacity: stateSize); hiddenStates.initialize(repeating: 0, count: stateSize)
        cellStates = .allocate(capacity: stateSize); cellStates.initialize(repeating: 0, count: stateSize)
        episodeStarts = .allocate(capacity: copies); episodeStarts.initialize(repeating: true, count: copies)
        statesBeforeStep = .allocate(capacity: 2 * stateSize); statesBeforeStep.initialize(repeating: 0, count: 2 * stateSize)
    }

    deinit { hiddenStates.deallocate(); cellStates.deallocate(); episodeStarts.deallocate(); statesBeforeStep.deallocate() }

    var actionCount: Int { agent.actionCount }
    var optimizer: Adam { agent.optimizer }
    var onlineParameters: ParameterArena { agent.onlineParameters }
    var onlineNetwork: any Module { agent.online }
    var modelEntries: [StateEntry] { agent.online.stateEntries(prefix: "q_net.") + agent.target.stateEntries(prefix: "q_net_target.") }
    var canLearn: Bool { buffer.count > 0 }
    var replayCounters: (count: Int, position: Int) { (0, 0) }

    func begin(observations: UnsafePointer<Float>) {
        let size = agent.observationSize
        for i in 0..<copies { buffer.begin(copy: i, observation: observations + i * size) }
    }

    /// Keeps the state each copy acts from (zero at an episode start) for the episode replay, then acts.
    func act(_ observations: UnsafePointer<Float>, into actions: UnsafeMutablePointer<Float>) {
        let H = hiddenSize
        for i in 0..<copies {
            let h = statesBeforeStep + i * 2 * H
            if episodeStarts[i] { h.update(repeating: 0, count: 2 * H) } else {
                h.update(from: hiddenStates + i * H, count: H)
                (h + H).update(from: cellStates + i * H, count: H)
            }
        }
        agent.greedyActions(observations, rows: copies, hidden: hiddenStates, cell: cellStates, starts: episodeStarts, into: actions)
    }

    func store(copy i: Int, observation: UnsafePointer<Float>, action: Int32, reward: Float, next: UnsafePointer<Float>,
               current: UnsafePointer<Float>, done: Bool, terminated: Bool) {
        let state = statesBeforeStep + i * 2 * hiddenSize
        buffer.record(copy: i, action: action, reward: reward, next: next, done: done, terminated: terminated,
                      hidden: state, cell: state + hiddenSize)
        if done { buffer.begin(copy: i, observation: current) }
        episodeStarts[i] = done
    }

    func learn(beta: Double, rng: inout SeededGenerator) -> Float { agent.train(on: buffer, rng: &rng) }
    func updateTarget() { agent.updateTarget() }
    func greedyPolicy() -> any EvaluationPolicy { RecurrentGreedyPolicy(agent: agent) }

    func save(into file: inout SafeTensors.File) {
        buffer.save(into: &file, prefix: "episodes.")
        file.append("acting.hidden", Checkpoint.floats(hiddenStates, copies * hiddenSize))
        file.append("acting.cell", Checkpoint.floats(cellStates, copies * hiddenSize))
        file.append("acting.starts", Checkpoint.words((0..<copies).map { episodeStarts[$0] ? 1 : 0 }))
    }

    func restore(from state: SafeTensors.File, path: String, replayCounters: (count: Int, position: Int)) throws {
        try buffer.restore(from: state, prefix: "episodes.", path: path, actionCount: actionCount)
        try Checkpoint.floats("acting.hidden", in: state, path: path, into: hiddenStates, count: copies * hiddenSize)
        try Checkpoint.floats("acting.cell", in: state, path: path, into: cellStates, count: copies * hiddenSize)
        for (i, flag) in try state.integers("acting.starts", path: path, count: copies, in: 0...1).enumerated() {
            episodeStarts[i] = flag != 0
        }
    }
}

/// The greedy policy of a trained feed-forward Q-network, for evaluation and watching.
public final class GreedyPolicy: EvaluationPolicy, ExplainablePolicy {
    let agent: DQNAgent

    init(agent: DQNAgent) { self.agent = agent }

    public func beginEpisode() {}

    public func act(_ observation: UnsafePointer<Float>, into action: UnsafeMutablePointer<Float>) {
        agent.greedyActions(observation, rows: 1, into: action)
    }

    /// The Q-values (and the attention weights) the shown action was chosen from.
    public func thoughts(about observation: UnsafePointer<Float>) -> PolicyThoughts? {
        let q = agent.online.forward(observation, rows: 1)
        return PolicyThoughts(kind: .actionValues, actions: (0..<agent.actionCount).map { Double(q[$0]) }, value: nil,
                              attention: PolicyThoughts.attention(of: agent.online.encoder))
    }
}

/// The greedy policy of a trained recurrent Q-network; its LSTM state starts at zero in every episode.
public final class RecurrentGreedyPolicy: EvaluationPolicy {
    let agent: RecurrentDQNAgent
    private let hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>
    private var start = true

    init(agent: RecurrentDQNAgent) {
        self.agent = agent
        let size = max(agent.config.lstmHidden, 1)
        hidden = .allocate(capacity: size); hidden.initialize(repeating: 0, count: size)
        cell = .allocate(capacity: size); cell.initialize(repeating: 0, count: size)
    }

    deinit { hidden.deallocate(); cell.deallocate() }

    public func beginEpisode() { start = true }

    public var hiddenState: [Float]? { Array(UnsafeBufferPointer(start: hidden, count: agent.config.lstmHidden)) }

    public func act(_ observation: UnsafePointer<Float>, into action: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: start) { agent.greedyActions(observation, rows: 1, hidden: hidden, cell: cell, starts: $0, into: action) }
        start = false
    }
}

extension DQNConfig {
    /// The learner these hyperparameters describe (`encoder: lstm` makes the recurrent one).
    /// `observationKind` decides how the replay stores observations.
    func makeLearner(observationSpace: Space, observationKind: ObservationKind, actionSpace: Space, copies: Int,
                     goals: (any GoalConditionedEnvironment)? = nil, rng: inout SeededGenerator) -> any QLearner {
        if usesHindsight, let goals {
            return HindsightQLearner(hyperparameters: self, observationSpace: observationSpace, observationKind: observationKind,
                                     actionSpace: actionSpace, copies: copies, goals: goals, rng: &rng)
        }
        return encoder == "lstm"
            ? RecurrentQLearner(hyperparameters: self, observationSpace: observationSpace, observationKind: observationKind,
                                actionSpace: actionSpace, copies: copies, rng: &rng)
            : FeedForwardQLearner(hyperparameters: self, observationSpace: observationSpace, observationKind: observationKind,
                                  actionSpace: actionSpace, copies: copies, rng: &rng)
    }

    /// The greedy policy of checkpoint `model` (read from `path`): its online and target Q-networks must both be there,
    /// with the shapes these hyperparameters give.
    func loadGreedyPolicy(model: SafeTensors.File, path: String, observationSpace: Space, observationKind: ObservationKind,
                          actionSpace: Space) throws -> any EvaluationPolicy {
        var rng = SeededGenerator(seed: 0)
        var config = self
        config.bufferSize = max(config.batchSize, 1)  // the replay is not used for evaluation
        let learner = config.makeLearner(observationSpace: observationSpace, observationKind: observationKind, actionSpace: actionSpace,
                                         copies: 1, rng: &rng)
        try learner.modelEntries.load(from: model, path: path)
        return learner.greedyPolicy()
    }
}
