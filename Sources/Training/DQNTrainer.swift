import Agents
import Environments
import Foundation
import Neural
import Sim
import Synchronization

/// Set by SIGINT (Ctrl-C): the run loop saves a resumable checkpoint and stops at the next step.
public let interruptRequested = Atomic<Bool>(false)

/// Installs the SIGINT (Ctrl-C) and SIGTERM handlers that ask running training to stop cleanly with a resumable
/// checkpoint. Both signals are unblocked first: a parent process (a test runner, a job scheduler) may have started
/// dojo with them blocked, which would leave the run unstoppable but by SIGKILL.
public func installInterruptHandler() {
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber) { _ in interruptRequested.store(true, ordering: .relaxed) }
    }
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    sigaddset(&unblocked, SIGINT)
    sigaddset(&unblocked, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
}

/// Trains a DQN agent, top to bottom as CleanRL lays it out: seed → environments → networks → replay buffer → loop
/// (act, step, store, learn, log, evaluate, checkpoint). The run directory holds `config.json`, `metrics.csv`,
/// `metrics.jsonl`, TensorBoard events, `learning_curve.png`, `checkpoints/{last,best}` and `best_episode.replay`.
///
/// Resuming (`resume: true`) restores the networks, optimizer, replay buffer, generators, environment states and
/// counters from `checkpoints/last`, so the run continues exactly as if it had never stopped.
public final class DQNTrainer: RecordingTrainer {
    public let config: RunConfig
    public let directory: String
    /// The run directory, locked for this trainer's life.
    let runDirectory: RunDirectory
    /// The learner: feed-forward (`agent`, with `buffer`) or recurrent (`recurrentAgent`, with `episodeBuffer`).
    public let agent: DQNAgent?
    public let recurrentAgent: RecurrentDQNAgent?
    public let environments: VectorEnvironment<AnyEnvironment>
    public let buffer: ReplayBuffer?
    public let episodeBuffer: EpisodeReplayBuffer?
    let observationSize: Int
    let actionCount: Int
    // Recurrent acting state: each copy's LSTM state and whether its next step starts an episode.
    private let hiddenStates: UnsafeMutablePointer<Float>
    private let cellStates: UnsafeMutablePointer<Float>
    private let episodeStarts: UnsafeMutablePointer<Bool>
    private let statesBeforeStep: UnsafeMutablePointer<Float>    // nEnvs × 2H: (h, c) each copy acted from

    // Loop state (all saved in checkpoints).
    public private(set) var step = 0                 // environment steps so far (all copies)
    public private(set) var iteration = 0            // vector steps so far
    public private(set) var episodes = 0
    private var explorationRNG: SeededGenerator
    private var samplingRNG: SeededGenerator
    let record = RunRecord()
    private var lossSum = 0.0, lossCount = 0
    // n-step queues: per copy a ring of the last n (observation, action, reward).
    private let queueObservations: UnsafeMutablePointer<Float>   // nEnvs × n × obs
    private let queueActions: UnsafeMutablePointer<Int32>        // nEnvs × n
    private let queueRewards: UnsafeMutablePointer<Float>        // nEnvs × n
    private var queueCounts: [Int]
    private var queueHeads: [Int]
    private let previousObservations: UnsafeMutablePointer<Float> // nEnvs × obs: observations the actions were taken on
    private let actions: UnsafeMutablePointer<Float>              // nEnvs


    public init(config: RunConfig, directory: String, resume: Bool = false) throws {
        let problems = config.problems()
        guard problems.isEmpty else { throw TrainingError.invalidConfig(problems) }
        runDirectory = try RunDirectory(directory, mode: resume ? .resume : .create)
        let config = resume ? config : try config.adoptingFiles(into: directory)
        self.config = config
        self.directory = directory
        var networkRNG = SeededGenerator(seed: config.seed, stream: 1)
        explorationRNG = SeededGenerator(seed: config.seed, stream: 2)
        samplingRNG = SeededGenerator(seed: config.seed, stream: 3)
        environments = try makeEnvironments(config)
        let observationSpace = environments.environments[0].observationSpace
        observationSize = observationSpace.flatCount
        let actionSpace = environments.environments[0].actionSpace
        if config.dqn.encoder == "lstm" {
            recurrentAgent = RecurrentDQNAgent(config: config.dqn, observationSpace: observationSpace, actionSpace: actionSpace,
                                               rng: &networkRNG)
            episodeBuffer = EpisodeReplayBuffer(capacity: config.dqn.bufferSize, observationSpace: observationSpace,
                                                copies: config.nEnvs, stateSize: config.dqn.lstmHidden)
            agent = nil
            buffer = nil
            actionCount = recurrentAgent!.actionCount
        } else {
            agent = DQNAgent(config: config.dqn, observationSpace: observationSpace, actionSpace: actionSpace, rng: &networkRNG)
            buffer = ReplayBuffer(capacity: config.dqn.bufferSize, observationSpace: observationSpace,
                                  prioritized: config.dqn.prioritizedReplay, alpha: config.dqn.priorityAlpha)
            recurrentAgent = nil
            episodeBuffer = nil
            actionCount = agent!.actionCount
        }
        let stateSize = config.nEnvs * config.dqn.lstmHidden
        hiddenStates = .allocate(capacity: stateSize); hiddenStates.initialize(repeating: 0, count: stateSize)
        cellStates = .allocate(capacity: stateSize); cellStates.initialize(repeating: 0, count: stateSize)
        episodeStarts = .allocate(capacity: config.nEnvs); episodeStarts.initialize(repeating: true, count: config.nEnvs)
        statesBeforeStep = .allocate(capacity: 2 * stateSize); statesBeforeStep.initialize(repeating: 0, count: 2 * stateSize)
        let n = config.dqn.nStep, copies = config.nEnvs
        queueObservations = .allocate(capacity: copies * n * observationSize)
        queueObservations.initialize(repeating: 0, count: copies * n * observationSize)
        queueActions = .allocate(capacity: copies * n); queueActions.initialize(repeating: 0, count: copies * n)
        queueRewards = .allocate(capacity: copies * n); queueRewards.initialize(repeating: 0, count: copies * n)
        queueCounts = [Int](repeating: 0, count: copies)
        queueHeads = [Int](repeating: 0, count: copies)
        previousObservations = .allocate(capacity: copies * observationSize)
        previousObservations.initialize(repeating: 0, count: copies * observationSize)
        actions = .allocate(capacity: copies); actions.initialize(repeating: 0, count: copies)

        try FileManager.default.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
        if resume {
            try restore(from: directory + "/checkpoints/last")
            try config.writeJSON(inRun: directory, to: directory + "/config.json")  // a longer budget (--resume --steps)
        } else {
            environments.reset(seed: config.seed)
            for i in 0..<config.nEnvs { episodeBuffer?.begin(copy: i, observation: environments.observations + i * observationSize) }
            try config.writeJSON(inRun: directory, to: directory + "/config.json")
        }
    }

    deinit {
        queueObservations.deallocate(); queueActions.deallocate(); queueRewards.deallocate()
        previousObservations.deallocate(); actions.deallocate()
        hiddenStates.deallocate(); cellStates.deallocate(); episodeStarts.deallocate(); statesBeforeStep.deallocate()
    }


    /// Trains until `total_timesteps` (or `stopAt`, or Ctrl-C). Returns a summary.
    public func run(progress: ProgressReporter? = nil, stopAt: Int? = nil) throws -> TrainingSummary {
        let metrics = try MetricsLog(directory: directory, schema: .dqn, resume: step > 0, resumeStep: step)
        let total = config.totalTimesteps, copies = config.nEnvs, d = config.dqn
        let epsilonSchedule = LinearSchedule(start: d.explorationInitialEps, end: d.explorationFinalEps, fraction: d.explorationFraction)
        let betaSchedule = LinearSchedule(start: d.priorityBeta0, end: 1, fraction: 1)
        let targetEvery = max(d.targetUpdateInterval / copies, 1)
        var interrupted = false
        let started = Date()
        let startStep = step

        while step < total {
            if interruptRequested.load(ordering: .relaxed) || (stopAt.map { step >= $0 } ?? false) {
                interrupted = true
                break
            }
            // Act: ε-greedy over all copies with one forward pass.
            let epsilon = epsilonSchedule.value(progress: config.progress(atStep: step))
            previousObservations.update(from: environments.observations, count: copies * observationSize)
            if let recurrentAgent {
                // Keep the state each copy acts from (zero at an episode start) for the episode buffer.
                let H = config.dqn.lstmHidden
                for i in 0..<copies {
                    let h = statesBeforeStep + i * 2 * H
                    if episodeStarts[i] { h.update(repeating: 0, count: 2 * H) } else {
                        h.update(from: hiddenStates + i * H, count: H)
                        (h + H).update(from: cellStates + i * H, count: H)
                    }
                }
                recurrentAgent.greedyActions(environments.observations, rows: copies, hidden: hiddenStates, cell: cellStates,
                                             starts: episodeStarts, into: actions)
            } else {
                agent!.greedyActions(environments.observations, rows: copies, into: actions)
            }
            for i in 0..<copies where explorationRNG.nextDouble() < epsilon {
                actions[i] = Float(explorationRNG.nextInt(below: actionCount))
            }
            environments.step(actions)
            step += copies
            iteration += 1
            // Store transitions (n-step) and episode statistics.
            for i in 0..<copies {
                let done = environments.terminated[i] || environments.truncated[i]
                let next = done ? environments.finalObservations + i * observationSize : environments.observations + i * observationSize
                if let episodeBuffer {
                    let H = config.dqn.lstmHidden, state = statesBeforeStep + i * 2 * H
                    episodeBuffer.record(copy: i, action: Int32(actions[i]), reward: environments.rewards[i], next: next,
                                         done: done, terminated: environments.terminated[i], hidden: state, cell: state + H)
                    if done { episodeBuffer.begin(copy: i, observation: environments.observations + i * observationSize) }
                    episodeStarts[i] = done
                } else {
                    push(copy: i, observation: previousObservations + i * observationSize, action: Int32(actions[i]),
                         reward: environments.rewards[i], next: next, done: done, terminated: environments.terminated[i])
                }
                if done {
                    if let failure = environments.environments[i].failure { throw TrainingError.simulationFailed(failure) }
                    episodes += 1
                    record.episodeFinished(return: environments.finishedReturns[i], length: environments.finishedLengths[i])
                }
            }
            // Learn.
            if step > d.learningStarts && iteration % d.trainFreq == 0 && (episodeBuffer?.count ?? 1) > 0 {
                let beta = betaSchedule.value(progress: config.progress(atStep: step))
                if let end = d.learningRateEnd {
                    optimizer.learningRate = Float(learningRateSchedule(end: end).value(progress: config.progress(atStep: step)))
                }
                for _ in 0..<d.gradientSteps {
                    let loss = recurrentAgent.map { $0.train(on: episodeBuffer!, rng: &samplingRNG) }
                        ?? agent!.train(on: buffer!, beta: beta, rng: &samplingRNG)
                    guard loss.isFinite else {
                        throw TrainingError.diverged(step: step, detail: "loss is \(loss)")
                    }
                    lossSum += Double(loss)
                    lossCount += 1
                }
            }
            if iteration % targetEvery == 0 { agent?.updateTarget(); recurrentAgent?.updateTarget() }
            // Log, evaluate, checkpoint.
            if step % config.logInterval < copies || step >= total {
                let elapsed = Date().timeIntervalSince(started)
                let row = MetricsLog.Row(step: step, episodes: episodes, returnMean: record.meanReturn,
                                         lengthMean: record.meanLength, loss: lossCount > 0 ? lossSum / Double(lossCount) : nil,
                                         epsilon: epsilon, stepsPerSecond: Double(step - startStep) / max(elapsed, 1e-9),
                                         extra: [("learning_rate", Double(optimizer.learningRate)), ("n_updates", Double(optimizer.stepCount))])
                try log(row, to: metrics, progress: progress)
                lossSum = 0; lossCount = 0
            }
            if step % config.evalFreq < copies || step >= total { try evaluateAndCheckpoint(metrics: metrics, started: started) }
        }
        return try finish(interrupted: interrupted, episodes: episodes, metrics: metrics, progress: progress)
    }

    private func learningRateSchedule(end: Double) -> LinearSchedule {
        LinearSchedule(start: config.dqn.learningRate, end: end, fraction: 1)
    }

    /// Greedy evaluation of the current online network.
    public func evaluate(episodes: Int? = nil) throws -> (result: EvaluationResult, best: Replay) {
        try Evaluator.evaluate(env: config.env, options: config.envOptions, seed: config.seed ^ 0x5EED_E7A1,
                               episodes: episodes ?? config.nEvalEpisodes, policy: currentPolicy())
    }

    public func currentPolicy() -> any EvaluationPolicy { GreedyPolicy(agent: agent, recurrent: recurrentAgent) }
    public var onEvaluation: ((any EvaluationPolicy) throws -> Void)?

    var onlineParameters: ParameterArena { agent?.onlineParameters ?? recurrentAgent!.onlineParameters }

    /// The weights as `dojo train` saves them: `q_net.*` and `q_net_target.*`.
    var modelEntries: [StateEntry] {
        if let agent { return agent.online.stateEntries(prefix: "q_net.") + agent.target.stateEntries(prefix: "q_net_target.") }
        return recurrentAgent!.online.stateEntries(prefix: "q_net.") + recurrentAgent!.target.stateEntries(prefix: "q_net_target.")
    }

    var trainedParameters: ParameterArena { onlineParameters }

    // MARK: n-step transitions

    /// Queues (observation, action, reward) for copy `i` and emits the n-step transitions that are complete.
    private func push(copy i: Int, observation: UnsafePointer<Float>, action: Int32, reward: Float,
                      next: UnsafePointer<Float>, done: Bool, terminated: Bool) {
        let n = config.dqn.nStep, gamma = Float(config.dqn.gamma)
        let slot = (queueHeads[i] + queueCounts[i]) % n
        (queueObservations + (i * n + slot) * observationSize).update(from: observation, count: observationSize)
        queueActions[i * n + slot] = action
        queueRewards[i * n + slot] = reward
        queueCounts[i] += 1
        func emitOldest(terminated: Bool) {
            let head = queueHeads[i], count = queueCounts[i]
            var total: Float = 0, discount: Float = 1
            for k in 0..<count {
                total += discount * queueRewards[i * n + (head + k) % n]
                discount *= gamma
            }
            buffer!.add(observation: queueObservations + (i * n + head) * observationSize, action: Int(queueActions[i * n + head]),
                       reward: total, nextObservation: next, terminated: terminated, discount: discount)
            queueHeads[i] = (head + 1) % n
            queueCounts[i] -= 1
        }
        if done {
            while queueCounts[i] > 0 { emitOldest(terminated: terminated) }
            queueHeads[i] = 0
        } else if queueCounts[i] == n {
            emitOldest(terminated: false)
        }
    }

    // MARK: Checkpoints

    /// Writes the `best` (weights) or `last` (weights and training state) checkpoint folder atomically.
    func saveCheckpoint(to path: String, includeTrainingState: Bool) throws {
        var model = SafeTensors.File(metadata: ["format": "pt", "agent": "dqn", "env": config.env, "step": String(step)])
        for entry in modelEntries { model.append(entry.name, entry.value) }
        try Checkpoint.writeFolder(path, model: model, state: includeTrainingState ? trainingState() : nil, config: config)
    }

    private func words(_ values: [UInt64]) -> SafeTensors.Value { Checkpoint.words(values) }
    private func floats(_ pointer: UnsafePointer<Float>, _ count: Int) -> SafeTensors.Value { Checkpoint.floats(pointer, count) }

    /// Everything besides the weights needed to continue exactly.
    var optimizer: Adam { agent?.optimizer ?? recurrentAgent!.optimizer }

    func trainingState() -> SafeTensors.File {
        var file = SafeTensors.File(metadata: ["format": "dojo-training-state", "version": "1"])
        for entry in optimizer.stateEntries(prefix: "optimizer.") { file.append(entry.name, entry.value) }
        file.append("counters", words([step, iteration, episodes, buffer?.count ?? 0, buffer?.position ?? 0].map(\.stateWord)))
        file.append("rng.exploration", words(explorationRNG.stateWords))
        file.append("rng.sampling", words(samplingRNG.stateWords))
        record.save(into: &file)
        Checkpoint.save(environments, into: &file)
        if let episodeBuffer {
            // Recurrent: the episode buffer and each copy's acting state.
            episodeBuffer.save(into: &file, prefix: "episodes.")
            let stateSize = config.nEnvs * config.dqn.lstmHidden
            file.append("acting.hidden", floats(hiddenStates, stateSize))
            file.append("acting.cell", floats(cellStates, stateSize))
            file.append("acting.starts", words((0..<config.nEnvs).map { episodeStarts[$0] ? 1 : 0 }))
            return file
        }
        let buffer = buffer!
        // n-step queues.
        let n = config.dqn.nStep
        file.append("nstep.observations", floats(queueObservations, config.nEnvs * n * observationSize))
        file.append("nstep.actions", words((0..<(config.nEnvs * n)).map { Int(queueActions[$0]).stateWord }))
        file.append("nstep.rewards", floats(queueRewards, config.nEnvs * n))
        file.append("nstep.counts", words(queueCounts.map(\.stateWord) + queueHeads.map(\.stateWord)))
        // Replay buffer (filled part).
        let filled = buffer.count, rows = 2 * filled * observationSize
        if buffer.storesBytes {
            file.append("buffer.observations", .uint8(shape: [rows], values: Array(UnsafeBufferPointer(start: buffer.byteObservations!, count: rows))))
        } else {
            file.append("buffer.observations", floats(buffer.floatObservations!, rows))
        }
        file.append("buffer.actions", words((0..<filled).map { Int(buffer.actions[$0]).stateWord }))
        file.append("buffer.rewards", floats(buffer.rewards, filled))
        file.append("buffer.terminated", floats(buffer.terminated, filled))
        file.append("buffer.discounts", floats(buffer.discounts, filled))
        if let tree = buffer.priorities {
            file.append("buffer.priorities_bits", words((0..<filled).map { tree.value($0).bitPattern } + [buffer.maxPriorityForCheckpoint.bitPattern]))
        }
        return file
    }

    /// Restores weights and training state from a `last` checkpoint folder. Every tensor is checked for its size and
    /// every counter, index and action for its range before use: the files may have been altered.
    func restore(from path: String) throws {
        let (model, modelPath, state, statePath) = try Checkpoint.readLast(path)
        try restore(model: model, modelPath: modelPath, state: state, statePath: statePath)
    }

    /// Restores weights and training state from files already read (the paths label errors).
    package func restore(model: SafeTensors.File, modelPath: String, state: SafeTensors.File, statePath: String) throws {
        try Checkpoint.checkFinite(model: model, modelPath: modelPath, state: state, statePath: statePath)
        try modelEntries.load(from: model, path: modelPath)
        func float32(_ name: String, into pointer: UnsafeMutablePointer<Float>, count: Int) throws {
            try Checkpoint.floats(name, in: state, path: statePath, into: pointer, count: count)
        }
        try optimizer.stateEntries(prefix: "optimizer.").load(from: state, path: statePath, strict: false)
        let copies = config.nEnvs
        let counters = try state.integers("counters", path: statePath, count: 5, in: 0...Checkpoint.maximumCount)
        try Checkpoint.checkStep(counters[0], config: config, path: statePath)
        guard counters[0] == counters[1] * copies, counters[2] <= counters[0] else {
            throw TrainingError.corruptCheckpoint("\(statePath): counters \(counters.prefix(3)) are inconsistent "
                                                  + "(step = iterations × \(copies) copies, episodes ≤ steps)")
        }
        explorationRNG = try Checkpoint.generator("rng.exploration", in: state, path: statePath)
        samplingRNG = try Checkpoint.generator("rng.sampling", in: state, path: statePath)
        try record.restore(from: state, path: statePath)
        try Checkpoint.restore(environments, from: state, path: statePath)
        step = counters[0]; iteration = counters[1]; episodes = counters[2]
        let actionRange = 0...Int64(actionCount - 1)
        if let episodeBuffer {
            try episodeBuffer.restore(from: state, prefix: "episodes.", path: statePath, actionCount: actionCount)
            let stateSize = copies * config.dqn.lstmHidden
            try float32("acting.hidden", into: hiddenStates, count: stateSize)
            try float32("acting.cell", into: cellStates, count: stateSize)
            for (i, flag) in try state.integers("acting.starts", path: statePath, count: copies, in: 0...1).enumerated() {
                episodeStarts[i] = flag != 0
            }
            return
        }
        let buffer = buffer!
        let n = config.dqn.nStep
        try float32("nstep.observations", into: queueObservations, count: copies * n * observationSize)
        let queuedActions = try state.integers("nstep.actions", path: statePath, count: copies * n, in: actionRange)
        for (k, action) in queuedActions.enumerated() { queueActions[k] = Int32(action) }
        try float32("nstep.rewards", into: queueRewards, count: copies * n)
        let queue = try state.integers("nstep.counts", path: statePath, count: 2 * copies, in: 0...Int64(n - 1))
        queueCounts = Array(queue[0..<copies]); queueHeads = Array(queue[copies...])
        try buffer.restore(count: counters[3], position: counters[4], state: state, path: statePath, actionCount: actionCount)
    }

}

extension ReplayBuffer {
    /// Restores the filled part saved by `DQNTrainer.trainingState`, checking every size and range first.
    func restore(count filled: Int, position: Int, state: SafeTensors.File, path: String, actionCount: Int) throws {
        guard filled <= capacity, position < capacity, filled == capacity || position == filled else {
            throw TrainingError.corruptCheckpoint("\(path): the replay buffer's counters (\(filled) transitions, position "
                                                  + "\(position)) do not fit its capacity \(capacity)")
        }
        let rows = 2 * filled * observationSize
        switch state.tensors["buffer.observations"] {
        case .uint8(_, let values)? where storesBytes && values.count == rows:
            byteObservations!.update(from: values, count: rows)
        case .float32(let tensor)? where !storesBytes && tensor.count == rows:
            tensor.copy(to: floatObservations!)
        default:
            throw TrainingError.corruptCheckpoint("\(path): tensor 'buffer.observations' does not hold \(rows) "
                                                  + (storesBytes ? "U8" : "F32") + " values for \(filled) transitions")
        }
        let savedActions = try state.integers("buffer.actions", path: path, count: filled, in: 0...Int64(actionCount - 1))
        let savedRewards = try state.float32("buffer.rewards", path: path, count: filled)
        let savedTerminated = try state.float32("buffer.terminated", path: path, count: filled)
        let savedDiscounts = try state.float32("buffer.discounts", path: path, count: filled)
        guard savedTerminated.scalars.allSatisfy({ $0 == 0 || $0 == 1 }), savedDiscounts.scalars.allSatisfy({ $0.isFinite }) else {
            throw TrainingError.corruptCheckpoint("\(path): buffer.terminated must hold 0 or 1 and buffer.discounts finite values")
        }
        var savedPriorities: [Double] = []
        if let tree = priorities {
            savedPriorities = try Checkpoint.words("buffer.priorities_bits", in: state, path: path).map(Double.init(bitPattern:))
            guard savedPriorities.count == filled + 1, savedPriorities.allSatisfy({ $0.isFinite && $0 >= 0 }),
                  savedPriorities[filled] > 0 else {
                throw TrainingError.corruptCheckpoint("\(path): buffer.priorities_bits must hold \(filled + 1) finite, "
                                                      + "non-negative priorities (the last positive)")
            }
            for k in 0..<filled { tree.set(k, savedPriorities[k]) }
            maxPriorityForCheckpoint = savedPriorities[filled]
        }
        for (k, a) in savedActions.enumerated() { actions[k] = Int32(a) }
        savedRewards.copy(to: rewards)
        savedTerminated.copy(to: terminated)
        savedDiscounts.copy(to: discounts)
        restoreCounters(count: filled, position: position)
    }
}

/// The greedy policy of a trained Q-network for evaluation, one environment at a time; the recurrent network's state
/// starts at zero in every episode.
public final class GreedyPolicy: EvaluationPolicy {
    let agent: DQNAgent?
    let recurrent: RecurrentDQNAgent?
    private let hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>
    private var start = true

    public init(agent: DQNAgent?, recurrent: RecurrentDQNAgent?) {
        precondition(agent != nil || recurrent != nil, "a greedy policy needs a network")
        self.agent = agent
        self.recurrent = recurrent
        let size = max(recurrent?.config.lstmHidden ?? 1, 1)
        hidden = .allocate(capacity: size); hidden.initialize(repeating: 0, count: size)
        cell = .allocate(capacity: size); cell.initialize(repeating: 0, count: size)
    }

    deinit { hidden.deallocate(); cell.deallocate() }

    public func beginEpisode() { start = true }

    public var hiddenState: [Float]? {
        recurrent.map { Array(UnsafeBufferPointer(start: hidden, count: $0.config.lstmHidden)) }
    }

    public func act(_ observation: UnsafePointer<Float>, into action: UnsafeMutablePointer<Float>) {
        if let recurrent {
            withUnsafePointer(to: start) { recurrent.greedyActions(observation, rows: 1, hidden: hidden, cell: cell, starts: $0, into: action) }
            start = false
        } else {
            agent!.greedyActions(observation, rows: 1, into: action)
        }
    }
}
