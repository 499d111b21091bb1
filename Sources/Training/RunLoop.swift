import Environments
import Foundation
import Neural
import Sim

/// What every run loop offers the CLI: train until the budget, Ctrl-C or `stopAt`, in a run directory.
public protocol Trainer: AnyObject {
    var config: RunConfig { get }
    var directory: String { get }
    /// Environment steps done so far.
    var step: Int { get }
    func run(progress: ProgressReporter?, stopAt: Int?) throws -> TrainingSummary
    /// Called after each evaluation with the current policy (`dojo train --watch` shows an episode of it).
    var onEvaluation: ((any EvaluationPolicy) throws -> Void)? { get set }
    /// When set, charged with where the run's time goes (`dojo train --profile`); set it before `run`.
    var clock: PhaseClock? { get set }
    /// Threads stepping the run's environment copies (the results stay the same); set it before `run`.
    var environmentThreads: Int { get set }
}

extension Trainer {
    /// Trainers that do not profile (from outside this module, say) ignore the clock.
    public var clock: PhaseClock? {
        get { nil }
        set {}
    }
    /// Trainers that step no environment copies of their own (from outside this module, say) ignore it.
    public var environmentThreads: Int {
        get { 1 }
        set {}
    }
}

/// A finished run's headline figures.
public struct TrainingSummary: Sendable {
    public let steps: Int
    public let episodes: Int
    public let interrupted: Bool
    public let lastEvaluation: EvaluationResult?
    public let bestEvaluationReturn: Double
}

/// The run's environment copies, each built from the registry with the run's options (wrapped in its time limit).
func makeEnvironments(_ config: RunConfig) throws -> VectorEnvironment<AnyEnvironment> {
    try VectorEnvironment(count: config.nEnvs) { _ in AnyEnvironment(try EnvironmentRegistry.make(config.env, options: config.envOptions)) }
}

/// The trainer of `config.agent`'s algorithm (see ``AlgorithmRegistry``).
public func makeTrainer(config: RunConfig, directory: String, resume: Bool = false) throws -> any Trainer {
    try config.algorithm.makeTrainer(config, directory, resume)
}

/// Checkpoint pieces every trainer shares: the atomic folder writer, the encoding of words and floats, and the
/// vectorized environments' state.
enum Checkpoint {
    /// Writes a checkpoint folder that survives a kill at any instruction (see `CheckpointFolder`).
    static func writeFolder(_ path: String, model: SafeTensors.File, state: SafeTensors.File?, config: RunConfig) throws {
        try CheckpointFolder.write(path, model: model, state: state, config: config)
    }

    /// A `last` checkpoint folder's model and training state, with their paths for error messages. The newest
    /// complete checkpoint is first moved into place, whatever an interrupted write left behind.
    static func readLast(_ path: String) throws -> (model: SafeTensors.File, modelPath: String, state: SafeTensors.File, statePath: String) {
        try CheckpointFolder.recover(path)
        let modelPath = path + "/model.safetensors", statePath = path + "/state.safetensors"
        guard FileManager.default.fileExists(atPath: statePath) else {
            throw TrainingError.corruptCheckpoint("\(statePath) is missing; the run has no resumable checkpoint yet")
        }
        let model = try SafeTensors.read(from: modelPath), state = try SafeTensors.read(from: statePath)
        return (model, modelPath, state, statePath)
    }

    static func words(_ values: [UInt64]) -> SafeTensors.Value {
        .int64(shape: [values.count], values: values.map { Int64(bitPattern: $0) })
    }

    static func floats(_ pointer: UnsafePointer<Float>, _ count: Int) -> SafeTensors.Value {
        .float32(Tensor(shape: [count], copying: pointer))
    }

    /// Each copy's environment state, the current observations and the running episode statistics.
    static func save(_ environments: VectorEnvironment<AnyEnvironment>, into file: inout SafeTensors.File) {
        let copies = environments.environments.count, size = environments.observationSize
        for (i, env) in environments.environments.enumerated() { file.append("env.\(i)", words(env.saveState())) }
        file.append("env.observations", floats(environments.observations, copies * size))
        file.append("env.episode_returns_bits", words((0..<copies).map { environments.episodeReturns[$0].bitPattern }))
        file.append("env.episode_lengths", words((0..<copies).map { environments.episodeLengths[$0].stateWord }))
    }

    /// Restores what `save(_:into:)` wrote, checking every tensor's size and each environment's state.
    static func restore(_ environments: VectorEnvironment<AnyEnvironment>, from state: SafeTensors.File, path: String) throws {
        let copies = environments.environments.count, size = environments.observationSize
        for (i, env) in environments.environments.enumerated() {
            let name = "env.\(i)"
            do { try env.restoreState(try words(name, in: state, path: path)) } catch let error as SimulationError {
                throw TrainingError.corruptCheckpoint("\(path): tensor '\(name)': \(error)")
            }
        }
        let observations = try state.float32("env.observations", path: path, count: copies * size)
        let returns = try state.int64("env.episode_returns_bits", path: path, count: copies)
        let lengths = try state.integers("env.episode_lengths", path: path, count: copies, in: 0...Int64(Int32.max))
        observations.copy(to: environments.observations)
        for i in 0..<copies {
            environments.episodeReturns[i] = Double(bitPattern: UInt64(bitPattern: returns[i]))
            environments.episodeLengths[i] = lengths[i]
        }
    }

    /// Training never saves non-finite weights or state, so a checkpoint holding NaN or infinity was altered.
    static func checkFinite(model: SafeTensors.File, modelPath: String, state: SafeTensors.File, statePath: String) throws {
        try TrainedRun.checkFinite(model, path: modelPath)
        try TrainedRun.checkFinite(state, path: statePath)
    }

    /// The largest step, episode or transition count a state file may hold (2^53: exact as a Double).
    static let maximumCount: Int64 = 1 << 53

    /// Throws unless a checkpoint's `step` lies within the run's budget.
    static func checkStep(_ step: Int, config: RunConfig, path: String) throws {
        guard step <= config.totalTimesteps else {
            throw TrainingError.corruptCheckpoint("\(path) is at step \(step), past total_timesteps \(config.totalTimesteps); "
                                                  + "to train on, pass a larger budget: dojo train --resume RUN --steps N (N > \(step))")
        }
    }

    /// A saved generator state, or an error naming the tensor.
    static func generator(_ name: String, in state: SafeTensors.File, path: String) throws -> SeededGenerator {
        guard let generator = SeededGenerator(state: try words(name, in: state, path: path)) else {
            throw TrainingError.corruptCheckpoint("\(path): tensor '\(name)' is not a generator state (4 words, not all zero)")
        }
        return generator
    }

    /// Reads a tensor of saved words back.
    static func words(_ name: String, in state: SafeTensors.File, path: String) throws -> [UInt64] {
        try state.int64(name, path: path).map { UInt64(bitPattern: $0) }
    }

    /// Copies a saved float tensor of exactly `count` values into `pointer`.
    static func floats(_ name: String, in state: SafeTensors.File, path: String, into pointer: UnsafeMutablePointer<Float>,
                       count: Int) throws {
        try state.float32(name, path: path, count: count).copy(to: pointer)
    }
}

/// What both run loops keep about a run's progress, saved in `last` checkpoints: the last 100 episodes, the learning
/// curve's points, the evaluations and the best one.
final class RunRecord {
    var recentReturns: [Double] = []
    var recentLengths: [Double] = []
    var history: [(step: Double, value: Double)] = []
    var evaluationHistory: [(step: Double, value: Double)] = []
    var bestEvaluation = -Double.infinity
    var lastEvaluation: EvaluationResult?
    /// When learning_curve.png was last drawn (not saved: a resumed run draws at its first evaluation).
    var curveDrawnAt: Date?
    /// When the `last` checkpoint was last written (not saved: a resumed run writes at its first evaluation).
    var checkpointWrittenAt: Date?
    /// The least time between two `last` checkpoints written at evaluations (seconds). A fast run evaluates several
    /// times a second, and a durable checkpoint costs ~10 ms; a kill loses at most this much training, and a resumed
    /// run retraces it bit for bit (the end of the budget and an interruption always write one).
    static let checkpointInterval: TimeInterval = 10

    func episodeFinished(return value: Double, length: Int) {
        recentReturns.append(value)
        recentLengths.append(Double(length))
        if recentReturns.count > 100 { recentReturns.removeFirst(); recentLengths.removeFirst() }
    }

    var meanReturn: Double? { recentReturns.isEmpty ? nil : recentReturns.reduce(0, +) / Double(recentReturns.count) }
    var meanLength: Double? { recentLengths.isEmpty ? nil : recentLengths.reduce(0, +) / Double(recentLengths.count) }

    func save(into file: inout SafeTensors.File) {
        file.append("record.best", Checkpoint.words([bestEvaluation.bitPattern]))
        file.append("recent.returns_bits", Checkpoint.words(recentReturns.map(\.bitPattern)))
        file.append("recent.lengths_bits", Checkpoint.words(recentLengths.map(\.bitPattern)))
        file.append("history.bits", Checkpoint.words(history.flatMap { [$0.step.bitPattern, $0.value.bitPattern] }))
        file.append("eval_history.bits", Checkpoint.words(evaluationHistory.flatMap { [$0.step.bitPattern, $0.value.bitPattern] }))
    }

    func restore(from state: SafeTensors.File, path: String) throws {
        func doubles(_ name: String) throws -> [Double] { try Checkpoint.words(name, in: state, path: path).map(Double.init(bitPattern:)) }
        func pairs(_ values: [Double]) -> [(step: Double, value: Double)] {
            stride(from: 0, to: values.count - 1, by: 2).map { (values[$0], values[$0 + 1]) }
        }
        let best = try doubles("record.best"), returns = try doubles("recent.returns_bits")
        let lengths = try doubles("recent.lengths_bits")
        let curve = try doubles("history.bits"), evaluations = try doubles("eval_history.bits")
        guard best.count == 1, returns.count == lengths.count, returns.count <= 100, curve.count % 2 == 0,
              evaluations.count % 2 == 0 else {
            throw TrainingError.corruptCheckpoint("\(path): the run record (record.best, recent.*, history.bits, "
                                                  + "eval_history.bits) has inconsistent sizes")
        }
        // The learning curve is drawn from these values, and pixel positions cannot be computed from NaN or infinity.
        guard !best[0].isNaN, (returns + lengths + curve + evaluations).allSatisfy(\.isFinite) else {
            throw TrainingError.corruptCheckpoint("\(path): the run record (record.best, recent.*, history.bits, eval_history.bits) "
                                                  + "holds NaN or infinite values where finite returns, lengths and steps belong")
        }
        // Steps are counts of environment steps (at most 2^53), so the curve's axis can be drawn.
        let steps = stride(from: 0, to: curve.count, by: 2).map { curve[$0] } + stride(from: 0, to: evaluations.count, by: 2).map { evaluations[$0] }
        guard steps.allSatisfy({ (0...Double(Checkpoint.maximumCount)).contains($0) }) else {
            throw TrainingError.corruptCheckpoint("\(path): history.bits or eval_history.bits holds a step outside 0...2^53")
        }
        bestEvaluation = best[0]
        recentReturns = returns
        recentLengths = lengths
        history = pairs(curve)
        evaluationHistory = pairs(evaluations)
    }
}

/// The part of a run loop both trainers share: evaluating and checkpointing on schedule, and stopping cleanly.
protocol RecordingTrainer: Trainer {
    var environments: VectorEnvironment<AnyEnvironment> { get }
    var record: RunRecord { get }
    func evaluate(episodes: Int?) throws -> (result: EvaluationResult, best: Replay)
    func saveCheckpoint(to path: String, includeTrainingState: Bool) throws
    /// The trained weights, checked for non-finite values before checkpoints.
    var trainedParameters: ParameterArena { get }
    /// The current policy as evaluations run it.
    func currentPolicy() -> any EvaluationPolicy
}

extension RecordingTrainer {
    public var environmentThreads: Int {
        get { environments.threads }
        set { environments.threads = newValue }
    }

    /// Logs a metrics row (and a learning-curve point) and moves the progress bar.
    func log(_ row: MetricsLog.Row, to metrics: MetricsLog, progress: ProgressReporter?) throws {
        clock?.enter(.logging)
        defer { clock?.enter(.other) }
        try metrics.write(row)
        if let value = row.returnMean { record.history.append((Double(row.step), value)) }
        progress?.update(step: row.step, recentReturn: row.returnMean,
                         extra: record.lastEvaluation.map { String(format: "eval %.3f", $0.meanReturn) } ?? "")
    }

    /// `policy` on `episodes` evaluation episodes, the same episodes for every policy of the run.
    func evaluate(_ policy: any EvaluationPolicy, episodes: Int) throws -> (result: EvaluationResult, best: Replay) {
        try Evaluator.evaluate(env: config.env, options: config.envOptions, seed: config.seed ^ 0x5EED_E7A1,
                               episodes: episodes, policy: policy)
    }

    /// Evaluates, logs the evaluation, keeps the best checkpoint (and its episode's replay) and writes the last one.
    /// At the end of the budget the evaluation runs `n_final_eval_episodes` episodes, and the best checkpoint, picked
    /// on fewer, is judged again on the same episodes: the better of the two stays `best`.
    func evaluateAndCheckpoint(metrics: MetricsLog, started: Date) throws {
        defer { clock?.enter(.other) }
        clock?.enter(.evaluation)
        try checkParametersFinite()
        let finalEpisodes = max(config.nEvalEpisodes, config.nFinalEvalEpisodes)
        let final = step >= config.totalTimesteps && finalEpisodes > config.nEvalEpisodes
        let evaluation = try evaluate(episodes: final ? finalEpisodes : nil)
        if final, record.bestEvaluation > -.infinity {
            let best = try TrainedRun(directory: directory, checkpoint: "best")
            record.bestEvaluation = try evaluate(best.policy, episodes: finalEpisodes).result.meanReturn
        }
        clock?.enter(.checkpoint)
        record.lastEvaluation = evaluation.result
        try metrics.writeEvaluation(step: step, evaluation.result, elapsed: Date().timeIntervalSince(started))
        record.evaluationHistory.append((Double(step), evaluation.result.meanReturn))
        if evaluation.result.meanReturn > record.bestEvaluation {
            record.bestEvaluation = evaluation.result.meanReturn
            try saveCheckpoint(to: directory + "/checkpoints/best", includeTrainingState: false)
            try evaluation.best.write(to: directory + "/best_episode.replay")
        }
        let ended = step >= config.totalTimesteps
        if ended || record.checkpointWrittenAt.map({ Date().timeIntervalSince($0) >= RunRecord.checkpointInterval }) ?? true {
            try saveCheckpoint(to: directory + "/checkpoints/last", includeTrainingState: true)
            record.checkpointWrittenAt = Date()
        }
        // Drawing and compressing the curve costs more than a small model's checkpoint: at most every 10 s, and at
        // the end.
        if ended || record.curveDrawnAt.map({ Date().timeIntervalSince($0) >= 10 }) ?? true {
            try writeLearningCurve()
        }
        clock?.enter(.other)
        try onEvaluation?(currentPolicy())
    }

    /// Ends a session: a resumable checkpoint when interrupted, flushed logs, the summary.
    func finish(interrupted: Bool, episodes: Int, metrics: MetricsLog, progress: ProgressReporter?) throws -> TrainingSummary {
        clock?.enter(.checkpoint)
        defer { clock?.enter(.other) }
        if interrupted {
            try checkParametersFinite()
            try saveCheckpoint(to: directory + "/checkpoints/last", includeTrainingState: true)
            try writeLearningCurve()
        }
        metrics.flush()
        progress?.finish()
        return TrainingSummary(steps: step, episodes: episodes, interrupted: interrupted, lastEvaluation: record.lastEvaluation,
                               bestEvaluationReturn: record.bestEvaluation)
    }

    func checkParametersFinite() throws {
        let values = trainedParameters.values
        for i in 0..<trainedParameters.count where !values[i].isFinite {
            throw TrainingError.diverged(step: step, detail: "a weight became \(values[i])")
        }
    }

    func writeLearningCurve() throws {
        record.curveDrawnAt = Date()
        let title = "\(config.preset ?? config.env) - \(config.agent) - seed \(config.seed)"
        try LearningCurve.render(title: title, training: record.history, evaluation: record.evaluationHistory)
            .writePNG(to: directory + "/learning_curve.png")
    }
}
