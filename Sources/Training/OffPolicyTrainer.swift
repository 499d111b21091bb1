import Agents
import Environments
import Foundation
import Neural
import Sim
import Synchronization

/// Trains SAC or TD3 on continuous actions, as Stable-Baselines3's off-policy loop: uniformly random actions for the
/// first `learning_starts` steps, then the policy's (SAC: a sample; TD3: the action plus exploration noise); each
/// vector step's transitions go to the replay (a time-limit truncation keeps its final observation and its
/// bootstrap); every `train_freq` vector steps `gradient_steps` updates. The run directory is the same as the other
/// trainers' (`metrics.*`, TensorBoard, `checkpoints/{last,best}`, `best_episode.replay`).
///
/// Resuming restores the networks, targets, optimizers, temperature, replay, generators, environment states and
/// counters from `checkpoints/last`, so the run continues exactly as if it had never stopped.
public final class OffPolicyTrainer: RecordingTrainer {
    public let config: RunConfig
    public let hyperparameters: OffPolicyConfig
    public let directory: String
    let runDirectory: RunDirectory
    public let agent: OffPolicyAgent
    public let buffer: TransitionBuffer
    /// The hindsight relabelling over `buffer` (replay_buffer_class HerReplayBuffer), or nil.
    public let hindsight: HindsightReplayBuffer?
    public let environments: VectorEnvironment<AnyEnvironment>
    let observationSize: Int
    let actionWidth: Int

    // Loop state (all saved in checkpoints).
    public private(set) var step = 0
    public private(set) var iteration = 0
    public private(set) var episodes = 0
    private var explorationRNG: SeededGenerator
    private var samplingRNG: SeededGenerator
    let record = RunRecord()
    /// Sums since the last metrics row: critic loss, actor loss, α, α loss, and their counts.
    private var sums = [Double](repeating: 0, count: 4), counts = [Int](repeating: 0, count: 4)

    private let previousObservations: UnsafeMutablePointer<Float>  // copies × obs
    private let scaledActions: UnsafeMutablePointer<Float>         // copies × A, in [−1, 1]
    private let environmentActions: UnsafeMutablePointer<Float>    // copies × A, within the bounds
    private let policyInput: UnsafeMutablePointer<Float>           // copies × obs: normalized when normalize_observations

    public init(config: RunConfig, algorithm: OffPolicyAgent.Algorithm, hyperparameters: OffPolicyConfig, directory: String,
                resume: Bool = false) throws {
        self.hyperparameters = hyperparameters
        let problems = config.problems()
        guard problems.isEmpty else { throw TrainingError.invalidConfig(problems) }
        guard config.nEnvs <= OffPolicyAgent.actingRows else {
            throw TrainingError.invalidConfig(["n_envs (\(config.nEnvs)) must be at most \(OffPolicyAgent.actingRows) for SAC and TD3"])
        }
        runDirectory = try RunDirectory(directory, mode: resume ? .resume : .create)
        let config = resume ? config : try config.adoptingFiles(into: directory)
        self.config = config
        self.directory = directory
        var networkRNG = SeededGenerator(seed: config.seed, stream: 1)
        explorationRNG = SeededGenerator(seed: config.seed, stream: 2)
        samplingRNG = SeededGenerator(seed: config.seed, stream: 3)
        environments = try makeEnvironments(config)
        let first = environments.environments[0]
        observationSize = first.observationSpace.flatCount
        actionWidth = first.actionSpace.actionWidth
        agent = OffPolicyAgent(algorithm: algorithm, config: hyperparameters, observationSpace: first.observationSpace,
                               actionSpace: first.actionSpace, rng: &networkRNG)
        buffer = TransitionBuffer(capacity: hyperparameters.bufferSize, copies: config.nEnvs, observationSpace: first.observationSpace,
                                  observationKind: first.observationKind, actionWidth: actionWidth)
        if hyperparameters.usesHindsight {
            guard let goals = first.goalConditioned else {
                throw TrainingError.invalidConfig(["replay_buffer_class HerReplayBuffer needs a goal-conditioned environment "
                                                   + "(observation with achieved_goal and desired_goal, such as arm goal=true); "
                                                   + "\(config.env) with these options is not one"])
            }
            hindsight = HindsightReplayBuffer(
                buffer: buffer, layout: goals.goalLayout,
                strategy: HindsightReplayBuffer.Strategy(rawValue: hyperparameters.goalSelectionStrategy) ?? .future,
                sampledGoals: hyperparameters.nSampledGoal, batchSize: hyperparameters.batchSize) { achieved, desired, count, rewards in
                goals.computeReward(achieved: achieved, desired: desired, count: count, into: rewards)
            }
        } else {
            hindsight = nil
        }
        let copies = config.nEnvs
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
            return pointer
        }
        previousObservations = floats(copies * observationSize)
        scaledActions = floats(copies * actionWidth)
        environmentActions = floats(copies * actionWidth)
        policyInput = floats(copies * observationSize)
        if hyperparameters.normalizeObservations { agent.observationStatistics = RunningStatistics(size: observationSize) }

        try FileManager.default.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
        if resume {
            try restore(from: directory + "/checkpoints/last")
        } else {
            environments.reset(seed: config.seed)
            updateStatistics()
        }
        try config.writeJSON(inRun: directory, to: directory + "/config.json")
    }

    deinit { previousObservations.deallocate(); scaledActions.deallocate(); environmentActions.deallocate(); policyInput.deallocate() }

    /// Adds every copy's current observation to the running statistics (when observations are normalized).
    private func updateStatistics() {
        guard agent.observationStatistics != nil else { return }
        for i in 0..<config.nEnvs { agent.observationStatistics?.update(environments.observations + i * observationSize) }
    }

    private var schema: MetricsSchema { agent.algorithm == .sac ? .sac : .td3 }

    /// Adds a gradient step's loss `k` (critic, actor, α, α loss) to the sums the next metrics row averages.
    private func accumulate(_ k: Int, _ value: Float?) throws {
        guard let value else { return }
        guard value.isFinite else { throw TrainingError.diverged(step: step, detail: "a loss became \(value)") }
        sums[k] += Double(value)
        counts[k] += 1
    }

    public func run(progress: ProgressReporter? = nil, stopAt: Int? = nil) throws -> TrainingSummary {
        let metrics = try MetricsLog(directory: directory, schema: schema, resume: step > 0, resumeStep: step)
        let total = config.totalTimesteps, copies = config.nEnvs, d = hyperparameters
        let A = actionWidth
        var interrupted = false
        let started = Date()
        let startStep = step

        while step < total {
            if interruptRequested.load(ordering: .relaxed) || stopRequest.load(ordering: .relaxed) || (stopAt.map { step >= $0 } ?? false) {
                interrupted = true
                break
            }
            // Act: uniform actions until learning starts, then the exploring policy.
            previousObservations.update(from: environments.observations, count: copies * observationSize)
            clock?.enter(.acting)
            if step < d.learningStarts {
                for k in 0..<(copies * A) { scaledActions[k] = Float(2 * explorationRNG.nextDouble() - 1) }
            } else {
                if let statistics = agent.observationStatistics {
                    statistics.normalize(environments.observations, rows: copies, into: policyInput)
                } else {
                    policyInput.update(from: environments.observations, count: copies * observationSize)
                }
                withUnsafeMutablePointer(to: &explorationRNG) { rng in
                    agent.act(policyInput, rows: copies, into: scaledActions, rng: rng)
                }
            }
            environmentActions.update(from: scaledActions, count: copies * A)
            agent.unscale(environmentActions, rows: copies)
            clock?.enter(.environment)
            environments.step(environmentActions)
            clock?.enter(.other)
            step += copies
            iteration += 1
            for i in 0..<copies {
                let done = environments.terminated[i] || environments.truncated[i]
                let next = done ? environments.finalObservations + i * observationSize : environments.observations + i * observationSize
                let observation = previousObservations + i * observationSize, action = scaledActions + i * A
                if let hindsight {
                    hindsight.store(copy: i, observation: observation, action: action, reward: environments.rewards[i],
                                    nextObservation: next, terminated: environments.terminated[i], ended: done)
                } else {
                    buffer.store(copy: i, observation: observation, action: action, reward: environments.rewards[i],
                                 nextObservation: next, terminated: environments.terminated[i])
                }
                if done {
                    if let failure = environments.environments[i].failure { throw TrainingError.simulationFailed(failure) }
                    episodes += 1
                    record.episodeFinished(return: environments.finishedReturns[i], length: environments.finishedLengths[i])
                }
            }
            buffer.advance()
            updateStatistics()
            // Learn.
            let replay: any TransitionSampler = hindsight ?? buffer
            if step > d.learningStarts && iteration % d.trainFreq == 0 && replay.canSample {
                if let end = d.learningRateEnd {
                    let rate = Float(LinearSchedule(start: d.learningRate, end: end, fraction: 1).value(progress: config.progress(atStep: step)))
                    for optimizer in agent.optimizers { optimizer.learningRate = rate }
                }
                let gradientSteps = d.gradientSteps == -1 ? d.trainFreq * copies : d.gradientSteps
                for _ in 0..<gradientSteps {
                    let losses = agent.train(on: replay, rng: &samplingRNG)
                    try accumulate(0, losses.critic)
                    try accumulate(1, losses.actor)
                    try accumulate(2, losses.entropyCoefficient)
                    try accumulate(3, losses.entropyCoefficientLoss)
                }
                clock?.enter(.other)
            }
            // Log, evaluate, checkpoint.
            if step % config.logInterval < copies || step >= total {
                let elapsed = Date().timeIntervalSince(started)
                let names = ["critic_loss", "actor_loss", "ent_coef", "ent_coef_loss"]
                var extra: [(name: String, value: Double)] = (0..<4).compactMap { counts[$0] > 0 ? (names[$0], sums[$0] / Double(counts[$0])) : nil }
                extra += [("learning_rate", Double(agent.criticOptimizer.learningRate)), ("n_updates", Double(agent.updates))]
                let row = MetricsLog.Row(step: step, episodes: episodes, returnMean: record.meanReturn, lengthMean: record.meanLength,
                                         loss: nil, epsilon: nil, stepsPerSecond: Double(step - startStep) / max(elapsed, 1e-9),
                                         extra: extra)
                try log(row, to: metrics, progress: progress)
                sums = [0, 0, 0, 0]; counts = [0, 0, 0, 0]
            }
            if step % config.evalFreq < copies || step >= total { try evaluateAndCheckpoint(metrics: metrics, started: started) }
        }
        return try finish(interrupted: interrupted, episodes: episodes, metrics: metrics, progress: progress)
    }

    /// Deterministic evaluation of the current actor.
    public func evaluate(episodes: Int? = nil) throws -> (result: EvaluationResult, best: Replay) {
        try evaluate(currentPolicy(), episodes: episodes ?? config.nEvalEpisodes)
    }

    /// The current actor, normalizing with the statistics as a checkpoint keeps them (float32).
    public func currentPolicy() -> any EvaluationPolicy {
        OffPolicyPolicyRunner(agent: agent, observationStatistics: agent.observationStatistics.map(ObservationNormalizer.asSaved))
    }
    public var onEvaluation: ((any EvaluationPolicy) throws -> Void)?
    /// Set by ``requestStop()``: this trainer alone stops as on Ctrl-C.
    private let stopRequest = Atomic<Bool>(false)
    /// Asks this run to stop at the next step with a resumable checkpoint, as Ctrl-C asks every run of the process.
    public func requestStop() { stopRequest.store(true, ordering: .relaxed) }
    public var clock: PhaseClock? { didSet { agent.clock = clock } }
    var trainedParameters: ParameterArena { agent.actorParameters }

    // MARK: Checkpoints

    /// The model card (the architecture does not change during a run).
    private lazy var modelCard = ModelCard.metadata(network: agent.gaussianActor ?? agent.deterministicActor!, prefix: "actor.",
                                                    of: environments.environments[0],
                                                    normalizesObservations: agent.observationStatistics != nil)

    func saveCheckpoint(to path: String, includeTrainingState: Bool) throws {
        var model = SafeTensors.File(metadata: ["format": "pt", "agent": config.agent, "env": config.env, "step": String(step)]
            .merging(modelCard) { $1 })
        for entry in agent.modelEntries { model.append(entry.name, entry.value) }
        if let statistics = agent.observationStatistics { ObservationNormalizer.append(statistics, to: &model) }
        try Checkpoint.writeFolder(path, model: model, state: includeTrainingState ? trainingState() : nil, config: config)
    }

    /// The optimizers' state entries under `optimizer.actor.`, `optimizer.critic.` and (SAC) `optimizer.ent_coef.`.
    private var optimizerEntries: [StateEntry] {
        agent.actorOptimizer.stateEntries(prefix: "optimizer.actor.") + agent.criticOptimizer.stateEntries(prefix: "optimizer.critic.")
            + (agent.entropyOptimizer?.stateEntries(prefix: "optimizer.ent_coef.") ?? [])
    }

    func trainingState() -> SafeTensors.File {
        var file = SafeTensors.File(metadata: ["format": "dojo-training-state", "version": "1"])
        for entry in optimizerEntries { file.append(entry.name, entry.value) }
        file.append("counters", Checkpoint.words([step, iteration, episodes, agent.updates, buffer.filledSteps, buffer.position]
            .map(\.stateWord)))
        file.append("rng.exploration", Checkpoint.words(explorationRNG.stateWords))
        file.append("rng.sampling", Checkpoint.words(samplingRNG.stateWords))
        file.append("loss.running", Checkpoint.words(sums.map(\.bitPattern) + counts.map(\.stateWord)))
        record.save(into: &file)
        Checkpoint.save(environments, into: &file)
        let slots = buffer.count
        buffer.observations.save(rows: 2 * slots, as: "buffer.observations", into: &file)
        file.append("buffer.actions", Checkpoint.floats(buffer.actions, slots * actionWidth))
        file.append("buffer.rewards", Checkpoint.floats(buffer.rewards, slots))
        file.append("buffer.terminated", Checkpoint.floats(buffer.terminated, slots))
        if let hindsight { file.append("buffer.her_episodes", Checkpoint.words(hindsight.savedBookkeeping.map(\.stateWord))) }
        if let statistics = agent.observationStatistics {
            file.append("obs_rms", Checkpoint.words((statistics.mean + statistics.variance + [statistics.count]).map(\.bitPattern)))
        }
        return file
    }

    /// A model file's network tensors (all but the `obs_rms.*` statistics), to load strictly.
    static func weights(of model: SafeTensors.File) -> SafeTensors.File {
        var weights = SafeTensors.File()
        for name in model.names where !name.hasPrefix("obs_rms.") { weights.append(name, model.tensors[name]!) }
        return weights
    }

    func restore(from path: String) throws {
        let (model, modelPath, state, statePath) = try Checkpoint.readLast(path)
        try restore(model: model, modelPath: modelPath, state: state, statePath: statePath)
    }

    /// Restores weights and training state from files already read, checking every size, counter and range first.
    package func restore(model: SafeTensors.File, modelPath: String, state: SafeTensors.File, statePath: String) throws {
        try Checkpoint.checkFinite(model: model, modelPath: modelPath, state: state, statePath: statePath)
        let copies = config.nEnvs
        let counters = try state.integers("counters", path: statePath, count: 6, in: 0...Checkpoint.maximumCount)
        try Checkpoint.checkStep(counters[0], config: config, path: statePath)
        let (filled, position) = (counters[4], counters[5])
        guard counters[0] == counters[1] * copies, counters[2] <= counters[0], filled == min(counters[1], buffer.steps),
              position == counters[1] % buffer.steps else {
            throw TrainingError.corruptCheckpoint("\(statePath): counters \(counters) are inconsistent (step = iterations × "
                                                  + "\(copies) copies, episodes ≤ steps, replay rows ≤ \(buffer.steps) filled in order)")
        }
        let slots = filled * copies
        let observations = try buffer.observations.saved(rows: 2 * slots, as: "buffer.observations", in: state, path: statePath)
        let actions = try state.float32("buffer.actions", path: statePath, count: slots * actionWidth)
        let rewards = try state.float32("buffer.rewards", path: statePath, count: slots)
        let terminated = try state.float32("buffer.terminated", path: statePath, count: slots)
        guard actions.scalars.allSatisfy({ (-1...1).contains($0) }), terminated.scalars.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw TrainingError.corruptCheckpoint("\(statePath): buffer.actions must lie in [-1, 1] and buffer.terminated hold 0 or 1")
        }
        let running = try Checkpoint.words("loss.running", in: state, path: statePath)
        guard running.count == 8, running.prefix(4).allSatisfy({ Double(bitPattern: $0).isFinite }),
              running.suffix(4).allSatisfy({ $0 <= UInt64(Checkpoint.maximumCount) }) else {
            throw TrainingError.corruptCheckpoint("\(statePath): loss.running must hold four finite sums and four counts")
        }
        var statistics: RunningStatistics?
        if agent.observationStatistics != nil {
            _ = try ObservationNormalizer.statistics(in: model, path: modelPath, size: observationSize)  // checked as eval reads it
            statistics = try ObservationNormalizer.exactStatistics(in: state, path: statePath, size: observationSize)
        }
        var bookkeeping: [Int] = []
        if hindsight != nil {
            bookkeeping = try state.integers("buffer.her_episodes", path: statePath, in: 0...Checkpoint.maximumCount)
        }
        // Everything checked that can be without touching the agent; now load.
        try agent.modelEntries.load(from: Self.weights(of: model), path: modelPath)
        agent.observationStatistics = statistics
        try optimizerEntries.load(from: state, path: statePath, strict: false)
        explorationRNG = try Checkpoint.generator("rng.exploration", in: state, path: statePath)
        samplingRNG = try Checkpoint.generator("rng.sampling", in: state, path: statePath)
        try record.restore(from: state, path: statePath)
        try Checkpoint.restore(environments, from: state, path: statePath)
        step = counters[0]; iteration = counters[1]; episodes = counters[2]; agent.updates = counters[3]
        sums = running.prefix(4).map(Double.init(bitPattern:))
        counts = running.suffix(4).map { Int($0) }
        buffer.observations.restore(observations)
        actions.copy(to: buffer.actions)
        rewards.copy(to: buffer.rewards)
        terminated.copy(to: buffer.terminated)
        buffer.restoreCounters(filledSteps: filled, position: position)
        if let hindsight, let problem = hindsight.restore(bookkeeping: bookkeeping) {
            throw TrainingError.corruptCheckpoint("\(statePath): tensor 'buffer.her_episodes': \(problem)")
        }
    }
}

/// A trained SAC or TD3 actor acting deterministically (SAC: tanh of the mean) within the action space's bounds.
public final class OffPolicyPolicyRunner: EvaluationPolicy, ExplainablePolicy {
    let agent: OffPolicyAgent
    /// Frozen observation statistics (normalize_observations), as the checkpoint keeps them.
    let observationStatistics: RunningStatistics?
    private let action: UnsafeMutablePointer<Float>, low: UnsafeMutablePointer<Float>, high: UnsafeMutablePointer<Float>
    private let input: UnsafeMutablePointer<Float>

    public init(agent: OffPolicyAgent, observationStatistics: RunningStatistics?) {
        self.agent = agent
        self.observationStatistics = observationStatistics
        input = .allocate(capacity: agent.observationSize); input.initialize(repeating: 0, count: agent.observationSize)
        let A = agent.actionDimensions
        action = .allocate(capacity: A); action.initialize(repeating: 0, count: A)
        low = .allocate(capacity: A); low.initialize(repeating: 0, count: A)
        high = .allocate(capacity: A); high.initialize(repeating: 0, count: A)
    }

    deinit { action.deallocate(); low.deallocate(); high.deallocate(); input.deallocate() }

    /// The observation as the networks read it.
    private func prepared(_ observation: UnsafePointer<Float>) -> UnsafePointer<Float> {
        guard let statistics = observationStatistics else { return observation }
        statistics.normalize(observation, rows: 1, into: input)
        return UnsafePointer(input)
    }

    /// The actor of checkpoint `model` (read from `path`).
    convenience init(algorithm: OffPolicyAgent.Algorithm, hyperparameters: OffPolicyConfig, model: SafeTensors.File, path: String,
                     observationSpace: Space, actionSpace: Space) throws {
        var rng = SeededGenerator(seed: 0)
        let agent = OffPolicyAgent(algorithm: algorithm, config: hyperparameters, observationSpace: observationSpace,
                                   actionSpace: actionSpace, rng: &rng)
        try TrainedRun.checkFinite(model, path: path)
        try agent.modelEntries.load(from: OffPolicyTrainer.weights(of: model), path: path)
        let statistics = hyperparameters.normalizeObservations
            ? try ObservationNormalizer.statistics(in: model, path: path, size: agent.observationSize) : nil
        self.init(agent: agent, observationStatistics: statistics)
    }

    /// The policy's action in the environment's units, SAC's spread around it, and the critics' smallest value of it.
    public func thoughts(about observation: UnsafePointer<Float>) -> PolicyThoughts? {
        let A = agent.actionDimensions, observation = prepared(observation)
        agent.act(observation, rows: 1, into: action, rng: nil)
        let value = agent.critic.forward(observation, actions: action, rows: 1)
        let q = (0..<agent.critic.count).map { Double(value[$0]) }.min()
        var spreads: [Double] = []
        if let actor = agent.gaussianActor {
            let (mean, logStd) = actor.distribution(observation, rows: 1)
            for j in 0..<A {
                let std = expf(logStd[j])
                low[j] = tanhf(mean[j] - std)
                high[j] = tanhf(mean[j] + std)
            }
            agent.unscale(low, rows: 1)
            agent.unscale(high, rows: 1)
            spreads = (0..<A).map { Double(high[$0] - low[$0]) / 2 }
        }
        agent.unscale(action, rows: 1)
        return PolicyThoughts(kind: .actionValues, actions: [], value: q,
                              attention: PolicyThoughts.attention(of: agent.gaussianActor?.encoder ?? agent.deterministicActor?.encoder), actionMeans: (0..<A).map { Double(action[$0]) },
                              actionSpreads: spreads)
    }

    public func beginEpisode() {}

    public func act(_ observation: UnsafePointer<Float>, into action: UnsafeMutablePointer<Float>) {
        agent.act(prepared(observation), rows: 1, into: action, rng: nil)
        agent.unscale(action, rows: 1)
    }
}
