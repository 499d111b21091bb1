import Foundation

/// One scalar of a run's logs: its key in `metrics.jsonl` (and column in `metrics.csv`) and its TensorBoard tag.
/// Tags are Stable-Baselines3's wherever SB3 logs the same quantity, so SB3 dashboards and scripts find them; Dojo's
/// own scalars sit under SB3's prefixes (`rollout/`, `train/`, `eval/`, `time/`).
public struct LoggedScalar: Sendable, Equatable {
    public let key: String
    /// nil for the step, which is TensorBoard's x-axis rather than a scalar.
    public let tag: String?
    /// Counts are written as integers.
    public let isCount: Bool
    /// TensorBoard receives the logged value times this: −1 where SB3's tag names the negative (`entropy_loss`).
    public let tensorBoardSign: Double

    init(_ key: String, _ tag: String?, count: Bool = false, sign: Double = 1) {
        self.key = key
        self.tag = tag
        isCount = count
        tensorBoardSign = sign
    }
}

/// Every scalar `dojo train` logs, named in one table; ``MetricsSchema`` lists which of them each algorithm logs.
/// README's "Logs" section documents them (a test checks it names every column with its tag).
public enum LogNames {
    // Every training row.

    /// Environment steps so far, all copies together (TensorBoard's step).
    public static let step = LoggedScalar("step", nil, count: true)
    /// Training episodes finished so far.
    public static let episodes = LoggedScalar("episodes", "time/episodes", count: true)
    /// Mean return of the last 100 training episodes.
    public static let returnMean = LoggedScalar("return_mean_100", "rollout/ep_rew_mean")
    /// Mean length of the last 100 training episodes.
    public static let lengthMean = LoggedScalar("length_mean_100", "rollout/ep_len_mean")
    /// Environment steps per wall-clock second in this session.
    public static let stepsPerSecond = LoggedScalar("steps_per_second", "time/fps")

    // Training diagnostics.

    /// ε of ε-greedy exploration.
    public static let explorationRate = LoggedScalar("epsilon", "rollout/exploration_rate")
    /// DQN: mean Huber TD loss since the last row; PPO/A2C: the combined loss (policy + vf_coef·value −
    /// ent_coef·entropy), mean of the update.
    public static let loss = LoggedScalar("loss", "train/loss")
    /// The optimizer's learning rate.
    public static let learningRate = LoggedScalar("learning_rate", "train/learning_rate")
    /// DQN: gradient steps; PPO: rollouts × n_epochs; A2C: rollouts (SB3's counts).
    public static let updates = LoggedScalar("n_updates", "train/n_updates", count: true)
    /// PPO's clipped surrogate loss, mean of the update.
    public static let policyGradientLoss = LoggedScalar("policy_loss", "train/policy_gradient_loss")
    /// A2C's policy-gradient loss.
    public static let policyLoss = LoggedScalar("policy_loss", "train/policy_loss")
    /// Value-function MSE, mean of the update.
    public static let valueLoss = LoggedScalar("value_loss", "train/value_loss")
    /// Mean policy entropy (TensorBoard: its negative, SB3's entropy_loss).
    public static let entropy = LoggedScalar("entropy", "train/entropy_loss", sign: -1)
    /// Approximate KL divergence between the old and new policy.
    public static let approximateKL = LoggedScalar("approx_kl", "train/approx_kl")
    /// Fraction of samples whose probability ratio was clipped.
    public static let clipFraction = LoggedScalar("clip_fraction", "train/clip_fraction")
    /// 1 − Var[return − value] / Var[return] over the rollout (absent when the returns do not vary).
    public static let explainedVariance = LoggedScalar("explained_variance", "train/explained_variance")
    /// SAC/TD3: the critics' loss, mean over the gradient steps since the last row.
    public static let criticLoss = LoggedScalar("critic_loss", "train/critic_loss")
    /// SAC/TD3: the actor's loss (TD3: of the delayed steps), mean since the last row.
    public static let actorLoss = LoggedScalar("actor_loss", "train/actor_loss")
    /// SAC's entropy temperature α, mean since the last row.
    public static let entropyCoefficient = LoggedScalar("ent_coef", "train/ent_coef")
    /// SAC's temperature loss (learned temperature only), mean since the last row.
    public static let entropyCoefficientLoss = LoggedScalar("ent_coef_loss", "train/ent_coef_loss")
    /// Mean standard deviation of a Gaussian policy (absent for discrete actions).
    public static let standardDeviation = LoggedScalar("std", "train/std")

    // Evaluation rows.

    /// Wall-clock seconds since this session started.
    public static let elapsed = LoggedScalar("wall_time_s", "time/time_elapsed")
    /// Greedy episodes in the evaluation.
    public static let evaluationEpisodes = LoggedScalar("eval_episodes", "eval/episodes", count: true)
    /// Mean return of the evaluation.
    public static let evaluationReturnMean = LoggedScalar("eval_return_mean", "eval/mean_reward")
    /// Standard deviation of the evaluation returns.
    public static let evaluationReturnStd = LoggedScalar("eval_return_std", "eval/std_reward")
    /// Mean episode length of the evaluation.
    public static let evaluationLengthMean = LoggedScalar("eval_length_mean", "eval/mean_ep_length")
    /// Standard deviation of the evaluation lengths.
    public static let evaluationLengthStd = LoggedScalar("eval_length_std", "eval/std_ep_length")
    /// Fraction of evaluation episodes that succeeded (environments that report success).
    public static let evaluationSuccessRate = LoggedScalar("eval_success_rate", "eval/success_rate")

    /// The evaluation scalars every run logs, in column order.
    public static let evaluation = [elapsed, evaluationEpisodes, evaluationReturnMean, evaluationReturnStd, evaluationLengthMean,
                                    evaluationLengthStd, evaluationSuccessRate]

    /// An environment's own evaluation figure (`collision_rate`, `final_distance` …): `eval_<name>` in the logs,
    /// `eval/<name>` in TensorBoard.
    public static func environment(_ name: String) -> LoggedScalar {
        LoggedScalar("eval_" + name, "eval/" + name)
    }

    /// A key the table does not name (an environment figure read back from `metrics.jsonl`).
    static func unlisted(_ key: String) -> LoggedScalar {
        key.hasPrefix("eval_") ? environment(String(key.dropFirst(5))) : LoggedScalar(key, "train/" + key)
    }
}

/// The scalars one algorithm logs, in `metrics.csv`'s column order: `step`, the training scalars, the evaluation
/// scalars, then the environment's own evaluation figures in the order they first appear. A value absent from a
/// row is an empty cell.
public struct MetricsSchema: Sendable {
    /// The algorithm, as the docs name it.
    public let title: String
    public let training: [LoggedScalar]
    private let byKey: [String: LoggedScalar]

    init(title: String, training: [LoggedScalar]) {
        self.title = title
        self.training = training
        byKey = Dictionary((training + LogNames.evaluation).map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The fixed columns.
    public var columns: [LoggedScalar] { [LogNames.step] + training + LogNames.evaluation }

    /// The scalar logged under `key`, if this algorithm logs it.
    func scalar(_ key: String) -> LoggedScalar? { byKey[key] }

    public static let dqn = MetricsSchema(title: "DQN", training: [
        LogNames.episodes, LogNames.returnMean, LogNames.lengthMean, LogNames.explorationRate, LogNames.loss,
        LogNames.learningRate, LogNames.updates, LogNames.stepsPerSecond,
    ])
    public static let ppo = MetricsSchema(title: "PPO", training: [
        LogNames.episodes, LogNames.returnMean, LogNames.lengthMean, LogNames.loss, LogNames.policyGradientLoss,
        LogNames.valueLoss, LogNames.entropy, LogNames.approximateKL, LogNames.clipFraction, LogNames.explainedVariance,
        LogNames.standardDeviation, LogNames.learningRate, LogNames.updates, LogNames.stepsPerSecond,
    ])
    /// SB3's A2C logs no KL or clipping (one step on the rollout, the ratio is 1).
    public static let a2c = MetricsSchema(title: "A2C", training: [
        LogNames.episodes, LogNames.returnMean, LogNames.lengthMean, LogNames.loss, LogNames.policyLoss, LogNames.valueLoss,
        LogNames.entropy, LogNames.explainedVariance, LogNames.standardDeviation, LogNames.learningRate, LogNames.updates,
        LogNames.stepsPerSecond,
    ])
    public static let sac = MetricsSchema(title: "SAC", training: [
        LogNames.episodes, LogNames.returnMean, LogNames.lengthMean, LogNames.criticLoss, LogNames.actorLoss,
        LogNames.entropyCoefficient, LogNames.entropyCoefficientLoss, LogNames.learningRate, LogNames.updates, LogNames.stepsPerSecond,
    ])
    public static let td3 = MetricsSchema(title: "TD3", training: [
        LogNames.episodes, LogNames.returnMean, LogNames.lengthMean, LogNames.criticLoss, LogNames.actorLoss,
        LogNames.learningRate, LogNames.updates, LogNames.stepsPerSecond,
    ])
    public static let all = [dqn, ppo, a2c, sac, td3]
}

extension EvaluationResult {
    /// The environment's own figures by name (the one place that reads them from the result), success excepted.
    var environmentFigures: [(name: String, value: Double)] {
        let figures: [(String, Double?)] = [("optimal_return_mean", meanOptimalReturn), ("collision_rate", collisionRate),
                                            ("mean_speed", meanSpeed), ("mean_traffic_speed", meanTrafficSpeed),
                                            ("final_distance", meanFinalDistance)]
        return figures.compactMap { name, value in value.map { (name, $0) } }
    }

    var stdLength: Double { Self.standardDeviation(lengths.map(Double.init)) }

    static func standardDeviation(_ values: [Double]) -> Double {
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
    }

    /// The evaluation's scalars as `metrics.jsonl` logs them (`elapsed`: seconds since the session started).
    func loggedScalars(elapsed: Double) -> [(LoggedScalar, Double)] {
        var scalars: [(LoggedScalar, Double)] = [
            (LogNames.elapsed, elapsed), (LogNames.evaluationEpisodes, Double(returns.count)),
            (LogNames.evaluationReturnMean, meanReturn), (LogNames.evaluationReturnStd, stdReturn),
            (LogNames.evaluationLengthMean, meanLength), (LogNames.evaluationLengthStd, stdLength),
        ]
        if let rate = successRate { scalars.append((LogNames.evaluationSuccessRate, rate)) }
        return scalars + environmentFigures.map { (LogNames.environment($0.name), $0.value) }
    }

    /// The record `dojo eval --json` prints: the evaluation under the leaf names of its `eval/` TensorBoard tags
    /// (SB3's `mean_reward`, `std_reward`, `mean_ep_length`, `success_rate`, and the environment's own figures),
    /// extremes, the per-episode returns and lengths, and what was evaluated. Keys sorted, one line.
    public func jsonRecord(run: String, checkpoint: String, environment: String, options: [String: String], agent: String,
                           seed: UInt64) throws -> Data {
        var record: [String: Any] = [
            "run": run, "checkpoint": checkpoint, "env": environment, "env_options": options, "agent": agent, "seed": seed,
            "episodes": returns.count, "episode_rewards": returns, "episode_lengths": lengths,
            "mean_reward": meanReturn, "std_reward": stdReturn, "min_reward": returns.min() ?? 0, "max_reward": returns.max() ?? 0,
            "mean_ep_length": meanLength, "std_ep_length": stdLength,
            "min_ep_length": lengths.min() ?? 0, "max_ep_length": lengths.max() ?? 0,
        ]
        if let rate = successRate { record["success_rate"] = rate }
        for figure in environmentFigures { record[figure.name] = figure.value }
        return try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
