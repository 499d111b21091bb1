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
    /// The DQN hyperparameters of `config`.
    public let hyperparameters: DQNConfig
    public let directory: String
    /// The run directory, locked for this trainer's life.
    let runDirectory: RunDirectory
    /// The learner: feed-forward (n-step replay) or recurrent (episode replay), as `encoder` says.
    let learner: any QLearner
    public let environments: VectorEnvironment<AnyEnvironment>
    let observationSize: Int
    let actionCount: Int

    // Loop state (all saved in checkpoints).
    public private(set) var step = 0                 // environment steps so far (all copies)
    public private(set) var iteration = 0            // vector steps so far
    public private(set) var episodes = 0
    private var explorationRNG: SeededGenerator
    private var samplingRNG: SeededGenerator
    let record = RunRecord()
    private var lossSum = 0.0, lossCount = 0
    private let previousObservations: UnsafeMutablePointer<Float> // nEnvs × obs: observations the actions were taken on
    private let actions: UnsafeMutablePointer<Float>              // nEnvs

    /// A trainer for `config`, whose agent must be DQN.
    public convenience init(config: RunConfig, directory: String, resume: Bool = false) throws {
        guard config.agent == Self.algorithm.id else {
            throw TrainingError.invalidConfig(["a DQN trainer cannot train agent \(config.agent)"])
        }
        try self.init(config: config, hyperparameters: config.hyperparameters(as: DQNConfig.self), directory: directory, resume: resume)
    }

    public init(config: RunConfig, hyperparameters: DQNConfig, directory: String, resume: Bool = false) throws {
        self.hyperparameters = hyperparameters
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
        let goals = environments.environments[0].goalConditioned
        if hyperparameters.usesHindsight && goals == nil {
            throw TrainingError.invalidConfig(["replay_buffer_class HerReplayBuffer needs a goal-conditioned environment (observation "
                                               + "with achieved_goal and desired_goal, such as arm goal=true); \(config.env) with "
                                               + "these options is not one"])
        }
        learner = hyperparameters.makeLearner(observationSpace: observationSpace,
                                              observationKind: environments.environments[0].observationKind,
                                              actionSpace: actionSpace, copies: config.nEnvs, goals: goals, rng: &networkRNG)
        actionCount = learner.actionCount
        let copies = config.nEnvs
        previousObservations = .allocate(capacity: copies * observationSize)
        previousObservations.initialize(repeating: 0, count: copies * observationSize)
        actions = .allocate(capacity: copies); actions.initialize(repeating: 0, count: copies)

        try FileManager.default.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
        if resume {
            try restore(from: directory + "/checkpoints/last")
            try config.writeJSON(inRun: directory, to: directory + "/config.json")  // a longer budget (--resume --steps)
        } else {
            environments.reset(seed: config.seed)
            learner.begin(observations: environments.observations)
            try config.writeJSON(inRun: directory, to: directory + "/config.json")
        }
    }

    deinit { previousObservations.deallocate(); actions.deallocate() }


    /// Trains until `total_timesteps` (or `stopAt`, or Ctrl-C). Returns a summary.
    public func run(progress: ProgressReporter? = nil, stopAt: Int? = nil) throws -> TrainingSummary {
        let metrics = try MetricsLog(directory: directory, schema: .dqn, resume: step > 0, resumeStep: step)
        let total = config.totalTimesteps, copies = config.nEnvs, d = hyperparameters
        let epsilonSchedule = LinearSchedule(start: d.explorationInitialEps, end: d.explorationFinalEps, fraction: d.explorationFraction)
        let betaSchedule = LinearSchedule(start: d.priorityBeta0, end: 1, fraction: 1)
        let targetEvery = max(d.targetUpdateInterval / copies, 1)
        var interrupted = false
        let started = Date()
        let startStep = step

        while step < total {
            if interruptRequested.load(ordering: .relaxed) || stopRequest.load(ordering: .relaxed) || (stopAt.map { step >= $0 } ?? false) {
                interrupted = true
                break
            }
            // Act: ε-greedy over all copies with one forward pass.
            let epsilon = epsilonSchedule.value(progress: config.progress(atStep: step))
            previousObservations.update(from: environments.observations, count: copies * observationSize)
            clock?.enter(.acting)
            learner.act(environments.observations, into: actions)
            for i in 0..<copies where explorationRNG.nextDouble() < epsilon {
                actions[i] = Float(explorationRNG.nextInt(below: actionCount))
            }
            clock?.enter(.environment)
            environments.step(actions)
            clock?.enter(.other)
            step += copies
            iteration += 1
            // Store transitions (n-step) and episode statistics.
            for i in 0..<copies {
                let done = environments.terminated[i] || environments.truncated[i]
                let next = done ? environments.finalObservations + i * observationSize : environments.observations + i * observationSize
                learner.store(copy: i, observation: previousObservations + i * observationSize, action: Int32(actions[i]),
                              reward: environments.rewards[i], next: next, current: environments.observations + i * observationSize,
                              done: done, terminated: environments.terminated[i])
                if done {
                    if let failure = environments.environments[i].failure { throw TrainingError.simulationFailed(failure) }
                    episodes += 1
                    record.episodeFinished(return: environments.finishedReturns[i], length: environments.finishedLengths[i])
                }
            }
            // Learn.
            if step > d.learningStarts && iteration % d.trainFreq == 0 && learner.canLearn {
                let beta = betaSchedule.value(progress: config.progress(atStep: step))
                if let end = d.learningRateEnd {
                    optimizer.learningRate = Float(learningRateSchedule(end: end).value(progress: config.progress(atStep: step)))
                }
                for _ in 0..<d.gradientSteps {
                    clock?.enter(.forward)
                    let loss = learner.learn(beta: beta, rng: &samplingRNG)
                    guard loss.isFinite else {
                        throw TrainingError.diverged(step: step, detail: "loss is \(loss)")
                    }
                    lossSum += Double(loss)
                    lossCount += 1
                }
            }
            if iteration % targetEvery == 0 { learner.updateTarget() }
            clock?.enter(.other)
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
        LinearSchedule(start: hyperparameters.learningRate, end: end, fraction: 1)
    }

    /// Greedy evaluation of the current online network.
    public func evaluate(episodes: Int? = nil) throws -> (result: EvaluationResult, best: Replay) {
        try evaluate(currentPolicy(), episodes: episodes ?? config.nEvalEpisodes)
    }

    public func currentPolicy() -> any EvaluationPolicy { learner.greedyPolicy() }
    public var onEvaluation: ((any EvaluationPolicy) throws -> Void)?
    /// Set by ``requestStop()``: this trainer alone stops as on Ctrl-C.
    private let stopRequest = Atomic<Bool>(false)
    /// Asks this run to stop at the next step with a resumable checkpoint, as Ctrl-C asks every run of the process.
    public func requestStop() { stopRequest.store(true, ordering: .relaxed) }
    public var clock: PhaseClock? { didSet { learner.attach(clock) } }

    var onlineParameters: ParameterArena { learner.onlineParameters }

    /// The weights as `dojo train` saves them: `q_net.*` and `q_net_target.*`.
    var modelEntries: [StateEntry] { learner.modelEntries }

    var trainedParameters: ParameterArena { onlineParameters }

    // MARK: Checkpoints

    /// The model card (the architecture does not change during a run).
    private lazy var modelCard = ModelCard.metadata(network: learner.onlineNetwork, prefix: "q_net.", copies: ["q_net_target."],
                                                    of: environments.environments[0])

    /// Writes the `best` (weights) or `last` (weights and training state) checkpoint folder atomically.
    func saveCheckpoint(to path: String, includeTrainingState: Bool) throws {
        var model = SafeTensors.File(metadata: ["format": "pt", "agent": config.agent, "env": config.env, "step": String(step)]
            .merging(modelCard) { $1 })
        for entry in modelEntries { model.append(entry.name, entry.value) }
        try Checkpoint.writeFolder(path, model: model, state: includeTrainingState ? trainingState() : nil, config: config)
    }

    private func words(_ values: [UInt64]) -> SafeTensors.Value { Checkpoint.words(values) }
    private func floats(_ pointer: UnsafePointer<Float>, _ count: Int) -> SafeTensors.Value { Checkpoint.floats(pointer, count) }

    /// Everything besides the weights needed to continue exactly.
    var optimizer: Adam { learner.optimizer }

    func trainingState() -> SafeTensors.File {
        var file = SafeTensors.File(metadata: ["format": "dojo-training-state", "version": "1"])
        for entry in optimizer.stateEntries(prefix: "optimizer.") { file.append(entry.name, entry.value) }
        let replay = learner.replayCounters
        file.append("counters", words([step, iteration, episodes, replay.count, replay.position].map(\.stateWord)))
        file.append("rng.exploration", words(explorationRNG.stateWords))
        file.append("rng.sampling", words(samplingRNG.stateWords))
        // The loss summed since the last metrics row, so the first row after a resume averages the same steps.
        file.append("loss.running", words([lossSum.bitPattern, UInt64(lossCount)]))
        record.save(into: &file)
        Checkpoint.save(environments, into: &file)
        learner.save(into: &file)
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
        (lossSum, lossCount) = (0, 0)
        if state.tensors["loss.running"] != nil {  // absent in state files written before it was saved
            let running = try Checkpoint.words("loss.running", in: state, path: statePath)
            guard running.count == 2, Double(bitPattern: running[0]).isFinite, running[1] <= UInt64(Checkpoint.maximumCount) else {
                throw TrainingError.corruptCheckpoint("\(statePath): loss.running must hold a finite sum and a count")
            }
            (lossSum, lossCount) = (Double(bitPattern: running[0]), Int(running[1]))
        }
        try learner.restore(from: state, path: statePath, replayCounters: (counters[3], counters[4]))
    }
}

extension ReplayBuffer {
    /// Saves the observation rows written (bits compressed, or floats), the transitions held from oldest to newest
    /// (their rows' numbers, actions, returns, flags) and priorities.
    func save(into file: inout SafeTensors.File) {
        let held = (0..<count).map { slot(ofOldest: $0) }
        observations.save(rows: min(rowsWritten, observations.rows), as: "buffer.observations", into: &file)
        file.append("buffer.rows", Checkpoint.words(([rowsWritten] + held.flatMap { [observationRows[$0], nextObservationRows[$0]] })
            .map(\.stateWord)))
        file.append("buffer.actions", Checkpoint.words(held.map { Int(actions[$0]).stateWord }))
        func floats(_ values: UnsafeMutablePointer<Float>) -> SafeTensors.Value {
            .float32(Tensor(shape: [held.count], scalars: held.map { values[$0] }))
        }
        file.append("buffer.rewards", floats(rewards))
        file.append("buffer.terminated", floats(terminated))
        file.append("buffer.discounts", floats(discounts))
        if let tree = priorities {
            file.append("buffer.priorities_bits", Checkpoint.words(held.map { tree.value($0).bitPattern } + [maxPriorityForCheckpoint.bitPattern]))
        }
    }

    /// Restores what `save` wrote, checking every size, row number and range first.
    func restore(count held: Int, position: Int, state: SafeTensors.File, path: String, actionCount: Int) throws {
        guard held <= capacity, position < capacity else {
            throw TrainingError.corruptCheckpoint("\(path): the replay buffer's counters (\(held) transitions, position "
                                                  + "\(position)) do not fit its capacity \(capacity)")
        }
        let rows = try state.integers("buffer.rows", path: path, count: 1 + 2 * held, in: 0...Checkpoint.maximumCount)
        let written = rows[0], inRing = max(written - observations.rows, 0)..<written
        guard stride(from: 1, to: rows.count, by: 2).allSatisfy({ inRing.contains(rows[$0]) && rows[$0] < rows[$0 + 1]
                                                                   && inRing.contains(rows[$0 + 1]) }) else {
            throw TrainingError.corruptCheckpoint("\(path): tensor 'buffer.rows' must name, for each transition, an observation "
                                                  + "row before its next one, both among the last \(observations.rows) of the "
                                                  + "\(written) written")
        }
        let savedObservations = try observations.saved(rows: min(written, observations.rows), as: "buffer.observations",
                                                       in: state, path: path)
        let savedActions = try state.integers("buffer.actions", path: path, count: held, in: 0...Int64(actionCount - 1))
        let savedRewards = try state.float32("buffer.rewards", path: path, count: held)
        let savedTerminated = try state.float32("buffer.terminated", path: path, count: held)
        let savedDiscounts = try state.float32("buffer.discounts", path: path, count: held)
        guard savedTerminated.scalars.allSatisfy({ $0 == 0 || $0 == 1 }), savedDiscounts.scalars.allSatisfy({ $0.isFinite }) else {
            throw TrainingError.corruptCheckpoint("\(path): buffer.terminated must hold 0 or 1 and buffer.discounts finite values")
        }
        var savedPriorities: [Double] = []
        if priorities != nil {
            savedPriorities = try Checkpoint.words("buffer.priorities_bits", in: state, path: path).map(Double.init(bitPattern:))
            guard savedPriorities.count == held + 1, savedPriorities.allSatisfy({ $0.isFinite && $0 >= 0 }),
                  savedPriorities[held] > 0 else {
                throw TrainingError.corruptCheckpoint("\(path): buffer.priorities_bits must hold \(held + 1) finite, "
                                                      + "non-negative priorities (the last positive)")
            }
        }
        restoreCounters(count: held, position: position, rowsWritten: written)
        observations.restore(savedObservations)
        for k in 0..<held {
            let slot = slot(ofOldest: k)
            observationRows[slot] = rows[1 + 2 * k]
            nextObservationRows[slot] = rows[2 + 2 * k]
            actions[slot] = Int32(savedActions[k])
            rewards[slot] = savedRewards.scalars[k]
            terminated[slot] = savedTerminated.scalars[k]
            discounts[slot] = savedDiscounts.scalars[k]
            priorities?.set(slot, savedPriorities[k])
        }
        if priorities != nil { maxPriorityForCheckpoint = savedPriorities[held] }
    }
}
