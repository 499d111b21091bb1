import Agents
import Environments
import Foundation
import Neural
import Sim
import Synchronization

/// The on-policy run loop for PPO and A2C, in the same run directory as DQN's (config, metrics, TensorBoard,
/// evaluations, best and last checkpoints, learning curve, best-episode replay, exact resume): collect `n_steps` from
/// every copy, bootstrap truncated episodes from the value of their final observation, compute GAE advantages,
/// update, log, and at every `eval_freq` steps evaluate and checkpoint. Runs stop and resume at rollout boundaries.
public final class ActorCriticTrainer: RecordingTrainer {
    public let config: RunConfig
    public let hyperparameters: ActorCriticConfig
    public let directory: String
    /// The run directory, locked for this trainer's life.
    let runDirectory: RunDirectory
    public let agent: ActorCriticAgent
    public let environments: VectorEnvironment<AnyEnvironment>
    public let buffer: RolloutBuffer
    let observationSize: Int
    let actionWidth: Int
    /// Observation normalization (VecNormalize's): running statistics, updated on every collected observation.
    public private(set) var observationStatistics: RunningStatistics?
    /// Reward scaling: running statistics of each copy's discounted return.
    private var returnStatistics: RunningStatistics?
    private var discountedReturns: [Double]

    // Loop state (saved in checkpoints).
    public private(set) var step = 0
    public private(set) var episodes = 0
    private var policyRNG: SeededGenerator
    private var updateRNG: SeededGenerator
    let record = RunRecord()
    private let episodeStarts: UnsafeMutablePointer<Float>     // N: whether each copy's current observation began an episode

    // Scratch, sized once.
    private let policyInput: UnsafeMutablePointer<Float>       // N × obs: (normalized) observations for the network
    private let environmentActions: UnsafeMutablePointer<Float>
    private let rawActions: UnsafeMutablePointer<Float>
    private let values: UnsafeMutablePointer<Float>
    private let logProbabilities: UnsafeMutablePointer<Float>
    private let finalValues: UnsafeMutablePointer<Float>
    /// Recurrent policies: each copy's LSTM state (N, H) and scratch for the truncated copies' states.
    private let hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>
    private let scratchHidden: UnsafeMutablePointer<Float>, scratchCell: UnsafeMutablePointer<Float>
    private let noStarts: UnsafeMutablePointer<Float>
    private let stateSize: Int

    /// A trainer for `config`, whose agent must be PPO or A2C.
    public convenience init(config: RunConfig, directory: String, resume: Bool = false) throws {
        guard let algorithm = ActorCriticAgent.Algorithm(rawValue: config.agent) else {
            throw TrainingError.invalidConfig(["an actor-critic trainer cannot train agent \(config.agent)"])
        }
        try self.init(config: config, algorithm: algorithm, hyperparameters: config.hyperparameters(as: ActorCriticConfig.self),
                      directory: directory, resume: resume)
    }

    public init(config: RunConfig, algorithm: ActorCriticAgent.Algorithm, hyperparameters: ActorCriticConfig, directory: String,
                resume: Bool = false) throws {
        let problems = config.problems()
        guard problems.isEmpty else { throw TrainingError.invalidConfig(problems) }
        runDirectory = try RunDirectory(directory, mode: resume ? .resume : .create)
        let config = resume ? config : try config.adoptingFiles(into: directory)
        self.config = config
        self.hyperparameters = hyperparameters
        self.directory = directory
        var networkRNG = SeededGenerator(seed: config.seed, stream: 1)
        policyRNG = SeededGenerator(seed: config.seed, stream: 2)
        updateRNG = SeededGenerator(seed: config.seed, stream: 3)
        environments = try makeEnvironments(config)
        let observationSpace = environments.environments[0].observationSpace
        let actionSpace = environments.environments[0].actionSpace
        observationSize = observationSpace.flatCount
        actionWidth = actionSpace.actionWidth
        let copies = config.nEnvs
        agent = ActorCriticAgent(config: hyperparameters, algorithm: algorithm, observationSpace: observationSpace,
                                 observationKind: environments.environments[0].observationKind, actionSpace: actionSpace,
                                 rolloutRows: hyperparameters.nSteps * copies, rng: &networkRNG)
        stateSize = hyperparameters.encoder.hasSuffix("lstm") ? hyperparameters.lstmHidden : 0
        buffer = RolloutBuffer(steps: hyperparameters.nSteps, copies: copies, observationSize: observationSize, actionWidth: actionWidth,
                               stateSize: stateSize)
        observationStatistics = hyperparameters.normalizeObservations ? RunningStatistics(size: observationSize) : nil
        returnStatistics = hyperparameters.normalizeRewards ? RunningStatistics(size: 1) : nil
        discountedReturns = [Double](repeating: 0, count: copies)
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
            return pointer
        }
        episodeStarts = floats(copies); episodeStarts.update(repeating: 1, count: copies)
        policyInput = floats(copies * observationSize)
        environmentActions = floats(copies * actionWidth); rawActions = floats(copies * actionWidth)
        values = floats(copies); logProbabilities = floats(copies); finalValues = floats(copies)
        hidden = floats(copies * stateSize); cell = floats(copies * stateSize)
        scratchHidden = floats(copies * stateSize); scratchCell = floats(copies * stateSize)
        noStarts = floats(copies)

        try FileManager.default.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
        if resume {
            try restore(from: directory + "/checkpoints/last")
            try config.writeJSON(inRun: directory, to: directory + "/config.json")  // a longer budget (--resume --steps)
        } else {
            environments.reset(seed: config.seed)
            for i in 0..<copies { observationStatistics?.update(environments.observations + i * observationSize) }
            try config.writeJSON(inRun: directory, to: directory + "/config.json")
        }
    }

    deinit {
        for pointer in [episodeStarts, policyInput, environmentActions, rawActions, values, logProbabilities, finalValues,
                        hidden, cell, scratchHidden, scratchCell, noStarts] {
            pointer.deallocate()
        }
    }

    /// Writes `rows` observations normalized with the current statistics (clipped to ±10) into `output`.
    private func normalize(_ observations: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        guard let statistics = observationStatistics else {
            output.update(from: observations, count: rows * observationSize)
            return
        }
        statistics.normalize(observations, rows: rows, into: output)
    }

    /// The copies' acting state for a recurrent policy (nil otherwise).
    private var actingState: ActorCriticAgent.RecurrentState? {
        stateSize > 0 ? ActorCriticAgent.RecurrentState(hidden: hidden, cell: cell, starts: episodeStarts) : nil
    }

    // MARK: Loop

    public func run(progress: ProgressReporter? = nil, stopAt: Int? = nil) throws -> TrainingSummary {
        let metrics = try MetricsLog(directory: directory, schema: agent.algorithm == .a2c ? .a2c : .ppo, resume: step > 0, resumeStep: step)
        let total = config.totalTimesteps, copies = config.nEnvs, h = hyperparameters
        let gamma = Float(h.gamma)
        var interrupted = false
        let started = Date()
        let startStep = step
        while step < total {
            if interruptRequested.load(ordering: .relaxed) || stopRequest.load(ordering: .relaxed) || (stopAt.map { step >= $0 } ?? false) {
                interrupted = true
                break
            }
            // Collect a rollout (recurrent policies: from the copies' current LSTM states).
            buffer.reset()
            buffer.initialHidden.update(from: hidden, count: copies * stateSize)
            buffer.initialCell.update(from: cell, count: copies * stateSize)
            for _ in 0..<h.nSteps {
                clock?.enter(.acting)
                normalize(environments.observations, rows: copies, into: policyInput)
                agent.act(policyInput, rows: copies, deterministic: false, rng: &policyRNG, environmentActions: environmentActions,
                          rawActions: rawActions, values: values, logProbabilities: logProbabilities, state: actingState)
                for i in 0..<copies {
                    let row = buffer.row(i)
                    (buffer.observations + row * observationSize).update(from: policyInput + i * observationSize, count: observationSize)
                    (buffer.actions + row * actionWidth).update(from: rawActions + i * actionWidth, count: actionWidth)
                    buffer.values[row] = values[i]
                    buffer.logProbabilities[row] = logProbabilities[i]
                    buffer.episodeStarts[row] = episodeStarts[i]
                }
                clock?.enter(.environment)
                environments.step(environmentActions)
                clock?.enter(.other)
                step += copies
                try recordStep(gamma: gamma)
            }
            // Advantages from the values of the observations after the rollout.
            clock?.enter(.acting)
            normalize(environments.observations, rows: copies, into: policyInput)
            agent.predictValues(policyInput, rows: copies, into: finalValues, state: actingState)
            clock?.enter(.sampling)
            buffer.computeAdvantages(lastValues: finalValues, lastStarts: episodeStarts, gamma: gamma, lambda: Float(h.gaeLambda))
            let update = agent.update(on: buffer, progress: config.progress(atStep: step), rng: &updateRNG)
            clock?.enter(.other)
            guard update.policyLoss.isFinite && update.valueLoss.isFinite else {
                throw TrainingError.diverged(step: step, detail: "loss is \(update.policyLoss + update.valueLoss)")
            }
            // Log, evaluate, checkpoint (at the first rollout boundary past each interval).
            let rollout = h.nSteps * copies
            if step % config.logInterval < rollout || step >= total {
                let elapsed = Date().timeIntervalSince(started)
                let row = MetricsLog.Row(step: step, episodes: episodes, returnMean: record.meanReturn, lengthMean: record.meanLength,
                                         loss: update.policyLoss + h.vfCoef * update.valueLoss - h.entCoef * update.entropy,
                                         epsilon: nil, stepsPerSecond: Double(step - startStep) / max(elapsed, 1e-9),
                                         extra: [("policy_loss", update.policyLoss), ("value_loss", update.valueLoss),
                                                 ("entropy", update.entropy), ("approx_kl", update.approximateKL),
                                                 ("clip_fraction", update.clipFraction), ("learning_rate", Double(agent.optimizer.learningRate)),
                                                 ("explained_variance", buffer.explainedVariance), ("std", agent.policy.meanStandardDeviation),
                                                 ("n_updates", Double(step / rollout * (agent.algorithm == .a2c ? 1 : h.nEpochs)))])
                try log(row, to: metrics, progress: progress)
            }
            if step % config.evalFreq < rollout || step >= total { try evaluateAndCheckpoint(metrics: metrics, started: started) }
        }
        return try finish(interrupted: interrupted, episodes: episodes, metrics: metrics, progress: progress)
    }

    /// After a vector step: rewards (scaled, and bootstrapped on truncation) into the buffer, episode statistics,
    /// observation statistics, and the next rows' episode-start flags.
    private func recordStep(gamma: Float) throws {
        let copies = config.nEnvs
        // Truncated episodes continue in value: add γ·V(final observation), with one forward over those copies.
        // Recurrent policies continue from the copy's state after this step.
        var truncatedCount = 0
        for i in 0..<copies where environments.truncated[i] && !environments.terminated[i] {
            normalize(environments.finalObservations + i * observationSize, rows: 1, into: policyInput + truncatedCount * observationSize)
            (scratchHidden + truncatedCount * stateSize).update(from: hidden + i * stateSize, count: stateSize)
            (scratchCell + truncatedCount * stateSize).update(from: cell + i * stateSize, count: stateSize)
            truncatedCount += 1
        }
        if truncatedCount > 0 {
            let state = stateSize > 0 ? ActorCriticAgent.RecurrentState(hidden: scratchHidden, cell: scratchCell, starts: noStarts) : nil
            agent.predictValues(policyInput, rows: truncatedCount, into: finalValues, state: state)
        }
        var k = 0
        for i in 0..<copies {
            let row = buffer.row(i)
            var reward = environments.rewards[i]
            let done = environments.terminated[i] || environments.truncated[i]
            if var statistics = returnStatistics {
                discountedReturns[i] = discountedReturns[i] * Double(gamma) + Double(reward)
                withUnsafePointer(to: Float(discountedReturns[i])) { statistics.update($0) }
                returnStatistics = statistics
                reward = Float(max(-10, min(10, Double(reward) / (statistics.variance[0] + 1e-8).squareRoot())))
                if done { discountedReturns[i] = 0 }
            }
            if environments.truncated[i] && !environments.terminated[i] {
                reward += gamma * finalValues[k]
                k += 1
            }
            buffer.rewards[row] = reward
            episodeStarts[i] = done ? 1 : 0
            if done {
                if let failure = environments.environments[i].failure { throw TrainingError.simulationFailed(failure) }
                episodes += 1
                record.episodeFinished(return: environments.finishedReturns[i], length: environments.finishedLengths[i])
            }
            observationStatistics?.update(environments.observations + i * observationSize)
        }
        buffer.advance()
    }

    /// Deterministic evaluation of the current policy (observation statistics frozen).
    public func evaluate(episodes: Int? = nil) throws -> (result: EvaluationResult, best: Replay) {
        try evaluate(currentPolicy(), episodes: episodes ?? config.nEvalEpisodes)
    }

    /// The policy as a checkpoint saves it: the observation statistics rounded to float32, so `dojo eval` (and
    /// PyTorch) act exactly as the evaluation that chose the checkpoint.
    public func currentPolicy() -> any EvaluationPolicy {
        ActorCriticPolicyRunner(agent: agent, observationStatistics: observationStatistics.map(ObservationNormalizer.asSaved))
    }
    public var onEvaluation: ((any EvaluationPolicy) throws -> Void)?
    /// Set by ``requestStop()``: this trainer alone stops as on Ctrl-C.
    private let stopRequest = Atomic<Bool>(false)
    /// Asks this run to stop at the next step with a resumable checkpoint, as Ctrl-C asks every run of the process.
    public func requestStop() { stopRequest.store(true, ordering: .relaxed) }
    public var clock: PhaseClock? { didSet { agent.clock = clock } }

    var trainedParameters: ParameterArena { agent.parameters }

    // MARK: Checkpoints

    /// The weights (`policy.*`, PyTorch names), the model card, and the observation statistics an evaluation needs as
    /// plain float32 tensors (`obs_rms.mean`, `obs_rms.var`, `obs_rms.count`; the exact float64 values for `--resume`
    /// are in the training state).
    func modelFile() -> SafeTensors.File {
        var model = SafeTensors.File(metadata: ["format": "pt", "agent": config.agent, "env": config.env, "step": String(step)]
            .merging(modelCard) { $1 })
        for entry in agent.policy.stateEntries(prefix: "policy.") { model.append(entry.name, entry.value) }
        if let statistics = observationStatistics { ObservationNormalizer.append(statistics, to: &model) }
        return model
    }

    /// The model card (the architecture does not change during a run).
    private lazy var modelCard = ModelCard.metadata(network: agent.policy, prefix: "policy.", of: environments.environments[0],
                                                    normalizesObservations: observationStatistics != nil)

    func saveCheckpoint(to path: String, includeTrainingState: Bool) throws {
        try Checkpoint.writeFolder(path, model: modelFile(), state: includeTrainingState ? trainingState() : nil, config: config)
    }

    func trainingState() -> SafeTensors.File {
        var file = SafeTensors.File(metadata: ["format": "dojo-training-state", "version": "1"])
        for entry in agent.optimizer.stateEntries(prefix: "optimizer.") { file.append(entry.name, entry.value) }
        file.append("counters", Checkpoint.words([step.stateWord, episodes.stateWord]))
        file.append("rng.policy", Checkpoint.words(policyRNG.stateWords))
        file.append("rng.update", Checkpoint.words(updateRNG.stateWords))
        record.save(into: &file)
        file.append("episode_starts", Checkpoint.floats(episodeStarts, config.nEnvs))
        if stateSize > 0 {
            file.append("acting.hidden", Checkpoint.floats(hidden, config.nEnvs * stateSize))
            file.append("acting.cell", Checkpoint.floats(cell, config.nEnvs * stateSize))
        }
        if let statistics = observationStatistics {
            file.append("obs_rms", Checkpoint.words((statistics.mean + statistics.variance + [statistics.count]).map(\.bitPattern)))
        }
        if let statistics = returnStatistics {
            file.append("ret_rms", Checkpoint.words([statistics.mean[0], statistics.variance[0], statistics.count].map(\.bitPattern)
                                                    + discountedReturns.map(\.bitPattern)))
        }
        Checkpoint.save(environments, into: &file)
        return file
    }

    /// Restores weights and training state from a `last` checkpoint folder, checking every size and range first.
    func restore(from path: String) throws {
        let (model, modelPath, state, statePath) = try Checkpoint.readLast(path)
        try restore(model: model, modelPath: modelPath, state: state, statePath: statePath)
    }

    /// Restores weights and training state from files already read (the paths label errors).
    package func restore(model: SafeTensors.File, modelPath: String, state: SafeTensors.File, statePath: String) throws {
        try Checkpoint.checkFinite(model: model, modelPath: modelPath, state: state, statePath: statePath)
        try Self.loadWeights(agent, from: model, path: modelPath)
        if observationStatistics != nil {
            _ = try ObservationNormalizer.statistics(in: model, path: modelPath, size: agent.observationSize)  // checked as eval reads it
            observationStatistics = try ObservationNormalizer.exactStatistics(in: state, path: statePath, size: agent.observationSize)
        }
        try agent.optimizer.stateEntries(prefix: "optimizer.").load(from: state, path: statePath, strict: false)
        let counters = try state.integers("counters", path: statePath, count: 2, in: 0...Checkpoint.maximumCount)
        try Checkpoint.checkStep(counters[0], config: config, path: statePath)
        guard counters[1] <= counters[0] else {
            throw TrainingError.corruptCheckpoint("\(statePath): counters say \(counters[1]) episodes in \(counters[0]) steps")
        }
        policyRNG = try Checkpoint.generator("rng.policy", in: state, path: statePath)
        updateRNG = try Checkpoint.generator("rng.update", in: state, path: statePath)
        try record.restore(from: state, path: statePath)
        try Checkpoint.floats("episode_starts", in: state, path: statePath, into: episodeStarts, count: config.nEnvs)
        if stateSize > 0 {
            try Checkpoint.floats("acting.hidden", in: state, path: statePath, into: hidden, count: config.nEnvs * stateSize)
            try Checkpoint.floats("acting.cell", in: state, path: statePath, into: cell, count: config.nEnvs * stateSize)
        }
        if returnStatistics != nil {
            let saved = try Checkpoint.words("ret_rms", in: state, path: statePath).map(Double.init(bitPattern:))
            guard saved.count == 3 + config.nEnvs, saved.allSatisfy(\.isFinite), saved[1] >= 0, saved[2] >= 0 else {
                throw TrainingError.corruptCheckpoint("\(statePath): ret_rms must hold 3 + \(config.nEnvs) finite values "
                                                      + "(mean, variance ≥ 0, count ≥ 0, each copy's discounted return)")
            }
            returnStatistics = RunningStatistics(mean: [saved[0]], variance: [saved[1]], count: saved[2])
            discountedReturns = Array(saved[3...])
        }
        try Checkpoint.restore(environments, from: state, path: statePath)
        step = counters[0]; episodes = counters[1]
    }

    /// Loads the `policy.*` weights of a model file (strictly: every tensor of the network, nothing else under it).
    static func loadWeights(_ agent: ActorCriticAgent, from model: SafeTensors.File, path: String) throws {
        var weights = SafeTensors.File()
        for name in model.names where name.hasPrefix("policy.") { weights.append(name, model.tensors[name]!) }
        try agent.policy.stateEntries(prefix: "policy.").load(from: weights, path: path)
    }
}

/// An actor-critic policy under evaluation: deterministic (the mode) by default, observations normalized with the
/// statistics frozen at the checkpoint.
public final class ActorCriticPolicyRunner: EvaluationPolicy, ExplainablePolicy {
    let agent: ActorCriticAgent
    let observationStatistics: RunningStatistics?
    let deterministic: Bool
    private var rng = SeededGenerator(seed: 0, stream: 11)
    private let input: UnsafeMutablePointer<Float>
    private let raw: UnsafeMutablePointer<Float>
    /// A recurrent policy's state, zeroed at each episode start.
    private let hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>, start: UnsafeMutablePointer<Float>

    public init(agent: ActorCriticAgent, observationStatistics: RunningStatistics?, deterministic: Bool = true) {
        self.agent = agent
        self.observationStatistics = observationStatistics
        self.deterministic = deterministic
        input = .allocate(capacity: agent.observationSize)
        raw = .allocate(capacity: agent.actionWidth)
        let H = max(agent.config.lstmHidden, 1)
        hidden = .allocate(capacity: H); hidden.initialize(repeating: 0, count: H)
        cell = .allocate(capacity: H); cell.initialize(repeating: 0, count: H)
        start = .allocate(capacity: 1); start.initialize(to: 1)
    }

    /// The policy of checkpoint `model` (read from `path`), with its observation statistics when it normalizes
    /// observations.
    convenience init(algorithm: ActorCriticAgent.Algorithm, hyperparameters: ActorCriticConfig, model: SafeTensors.File,
                     path: String, observationSpace: Space, observationKind: ObservationKind, actionSpace: Space) throws {
        var rng = SeededGenerator(seed: 0)
        let agent = ActorCriticAgent(config: hyperparameters, algorithm: algorithm, observationSpace: observationSpace,
                                     observationKind: observationKind, actionSpace: actionSpace, rolloutRows: 1, rng: &rng)
        try ActorCriticTrainer.loadWeights(agent, from: model, path: path)
        let statistics = hyperparameters.normalizeObservations
            ? try ObservationNormalizer.statistics(in: model, path: path, size: agent.observationSize) : nil
        self.init(agent: agent, observationStatistics: statistics)
    }

    deinit { input.deallocate(); raw.deallocate(); hidden.deallocate(); cell.deallocate(); start.deallocate() }

    /// The action probabilities (discrete actions) and the value estimate of a feed-forward policy; a recurrent
    /// policy's outputs depend on its state, so it shows none.
    public func thoughts(about observation: UnsafePointer<Float>) -> PolicyThoughts? {
        guard agent.recurrent == nil else { return nil }
        if let statistics = observationStatistics {
            statistics.normalize(observation, rows: 1, into: input)
        } else {
            input.update(from: observation, count: agent.observationSize)
        }
        let (head, value) = agent.policy.forward(input, rows: 1)
        var probabilities: [Double] = []
        if case .categorical(let n) = agent.distribution {
            let logits = (0..<n).map { Double(head[$0]) }, top = logits.max() ?? 0
            let weights = logits.map { exp($0 - top) }, total = weights.reduce(0, +)
            probabilities = weights.map { $0 / total }
        }
        return PolicyThoughts(kind: .probabilities, actions: probabilities, value: Double(value[0]),
                              attention: PolicyThoughts.attention(of: agent.policy.encoder))
    }

    public func beginEpisode() { start.pointee = 1 }

    public var hiddenState: [Float]? {
        agent.recurrent == nil ? nil : Array(UnsafeBufferPointer(start: hidden, count: agent.config.lstmHidden))
    }

    public func act(_ observation: UnsafePointer<Float>, into action: UnsafeMutablePointer<Float>) {
        if let statistics = observationStatistics {
            statistics.normalize(observation, rows: 1, into: input)
        } else {
            input.update(from: observation, count: agent.observationSize)
        }
        var logProbability: Float = 0
        let state = agent.recurrent != nil ? ActorCriticAgent.RecurrentState(hidden: hidden, cell: cell, starts: start) : nil
        agent.act(input, rows: 1, deterministic: deterministic, rng: &rng, environmentActions: action, rawActions: raw,
                  values: nil, logProbabilities: &logProbability, state: state)
        start.pointee = 0
    }
}

extension RolloutBuffer {
    /// How much of the returns' variance the collected values explain, 1 − Var[return − value] / Var[return], as SB3
    /// logs it (NaN when the returns do not vary).
    var explainedVariance: Double {
        let n = Double(rows)
        var returnMean = 0.0, errorMean = 0.0
        for i in 0..<rows {
            returnMean += Double(returns[i]) / n
            errorMean += (Double(returns[i]) - Double(values[i])) / n
        }
        var variance = 0.0, errorVariance = 0.0
        for i in 0..<rows {
            let deviation = Double(returns[i]) - returnMean, errorDeviation = Double(returns[i]) - Double(values[i]) - errorMean
            variance += deviation * deviation / n
            errorVariance += errorDeviation * errorDeviation / n
        }
        return variance > 0 ? 1 - errorVariance / variance : .nan
    }
}

extension ActorCriticPolicy {
    /// The mean standard deviation of a Gaussian policy (NaN for a categorical one).
    var meanStandardDeviation: Double {
        guard let logStd else { return .nan }
        return (0..<logStd.count).reduce(0.0) { $0 + exp(Double(logStd.value[$1])) } / Double(logStd.count)
    }
}
