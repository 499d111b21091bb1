import Foundation
import SeededRandom

/// Aggregate statistics of reinforcement-learning scores with stratified-bootstrap confidence intervals, defined as
/// the `rliable` library defines them (Agarwal et al., "Deep RL at the Edge of the Statistical Precipice", 2021) and
/// checked against it (`StatisticsTests`, fixtures from `scripts/make_rliable_fixtures.py`).
///
/// Shapes: a score matrix is `[[Double]]` indexed `scores[run][task]` — runs × tasks, every row the same length, at
/// least one run and one task, all values finite. One task (a column) is the usual case for a single environment.
/// Functions here are pure and do not check their input; ``problem(_:)`` says what is wrong with a matrix.
public enum Statistics {
    /// Why `scores` is not a runs × tasks matrix of finite numbers, or nil when it is.
    public static func problem(_ scores: [[Double]]) -> String? {
        guard let width = scores.first?.count else { return "there are no runs" }
        guard width > 0 else { return "the runs have no tasks" }
        guard scores.allSatisfy({ $0.count == width }) else { return "the runs do not all have \(width) tasks" }
        guard scores.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { return "a score is not a finite number" }
        return nil
    }

    // MARK: Point estimates

    /// Mean over tasks of each task's mean over runs (rliable's `aggregate_mean`). Shape: runs × tasks → scalar.
    public static func mean(_ scores: [[Double]]) -> Double {
        let means = taskMeans(scores)
        return means.reduce(0, +) / Double(means.count)
    }

    /// Median over tasks of each task's mean over runs (rliable's `aggregate_median`). With one task this is the
    /// mean of the runs; ``medianOfRuns(_:)`` is the median of the runs themselves.
    public static func median(_ scores: [[Double]]) -> Double {
        medianOf(taskMeans(scores))
    }

    /// Median of every score in the matrix (NumPy's `median` of the flattened matrix): the middle run.
    public static func medianOfRuns(_ scores: [[Double]]) -> Double {
        medianOf(scores.flatMap { $0 })
    }

    /// Interquartile mean of every score in the matrix (rliable's `aggregate_iqm`, SciPy's `trim_mean(·, 0.25)`
    /// over the flattened matrix): ⌊n/4⌋ scores are cut from each end and the rest averaged, so with n = 5 the middle
    /// three remain and with n = 3 nothing is cut.
    public static func interquartileMean(_ scores: [[Double]]) -> Double {
        trimmedMean(scores.flatMap { $0 }, proportion: 0.25)
    }

    /// Mean of `values` after ⌊proportion·n⌋ of them are cut from each end (SciPy's `trim_mean`; no fractional
    /// weights). `values` must be non-empty and `proportion` below 0.5.
    public static func trimmedMean(_ values: [Double], proportion: Double) -> Double {
        let sorted = values.sorted()
        let cut = Int((proportion * Double(sorted.count)).rounded(.down))
        let kept = sorted[cut..<(sorted.count - cut)]
        return kept.reduce(0, +) / Double(kept.count)
    }

    /// Probability that a run of X scores higher than a run of Y on the same task, ties counting one half,
    /// averaged over tasks (rliable's `probability_of_improvement`, the Mann–Whitney U statistic over nx·ny).
    /// Shapes: x is runs_x × tasks, y is runs_y × tasks, the same tasks in the same columns.
    public static func probabilityOfImprovement(_ x: [[Double]], _ y: [[Double]]) -> Double {
        let tasks = x[0].count
        var total = 0.0
        for task in 0..<tasks {
            var wins = 0.0
            for a in x { for b in y { wins += a[task] > b[task] ? 1 : a[task] == b[task] ? 0.5 : 0 } }
            total += wins / Double(x.count * y.count)
        }
        return total / Double(tasks)
    }

    /// The performance profile: for each threshold τ, the fraction of all scores strictly above τ (rliable's
    /// `run_score_deviation`). Shape: runs × tasks, thresholds → one fraction per threshold.
    public static func performanceProfile(_ scores: [[Double]], thresholds: [Double]) -> [Double] {
        let all = scores.flatMap { $0 }
        return thresholds.map { tau in Double(all.filter { $0 > tau }.count) / Double(all.count) }
    }

    /// Area under the curve through (steps[i], values[i]) by the trapezoid rule, divided by the step span so that it
    /// is in the values' units (the curve's average height). One point: its value. Steps must increase.
    public static func normalizedArea(steps: [Double], values: [Double]) -> Double {
        guard steps.count > 1, let first = steps.first, let last = steps.last, last > first else { return values.last ?? .nan }
        var area = 0.0
        for i in 1..<steps.count { area += (steps[i] - steps[i - 1]) * (values[i] + values[i - 1]) / 2 }
        return area / (last - first)
    }

    // MARK: Quantiles

    /// The `p`-quantile (0 ≤ p ≤ 1) of ascending `sorted` with linear interpolation between order statistics
    /// (NumPy's default `percentile` method: position p·(n − 1)).
    public static func quantile(sorted: [Double], _ p: Double) -> Double {
        let position = p * Double(sorted.count - 1)
        let below = Int(position.rounded(.down)), above = min(below + 1, sorted.count - 1)
        let fraction = position - Double(below), difference = sorted[above] - sorted[below]
        // Interpolated from the nearer end, as NumPy does, so both give the same bits.
        return fraction >= 0.5 ? sorted[above] - difference * (1 - fraction) : sorted[below] + difference * fraction
    }

    // MARK: Stratified bootstrap

    /// A point estimate with a confidence interval.
    public struct Interval: Equatable, Sendable {
        public var estimate: Double
        public var low: Double
        public var high: Double
        public init(estimate: Double, low: Double, high: Double) { self.estimate = estimate; self.low = low; self.high = high }
    }

    /// One stratified resample of a runs × tasks matrix: for every task separately, as many runs drawn with
    /// replacement from that task's runs (rliable's `StratifiedBootstrap` without task resampling).
    public static func resample(_ scores: [[Double]], _ random: inout SeededGenerator) -> [[Double]] {
        let runs = scores.count, tasks = scores[0].count
        var sample = scores
        for run in 0..<runs {
            for task in 0..<tasks { sample[run][task] = scores[random.nextInt(below: runs)][task] }
        }
        return sample
    }

    /// The statistic of `reps` stratified resamples of `scores`, in draw order; deterministic given `seed`.
    public static func bootstrapDistribution(_ scores: [[Double]], reps: Int, seed: UInt64,
                                             _ statistic: ([[Double]]) -> Double) -> [Double] {
        var random = SeededGenerator(seed: seed)
        return (0..<reps).map { _ in statistic(resample(scores, &random)) }
    }

    /// The statistic of `reps` pairs of resamples, x and y resampled independently, each within its tasks
    /// (rliable's `StratifiedIndependentBootstrap`).
    public static func bootstrapDistribution(_ x: [[Double]], _ y: [[Double]], reps: Int, seed: UInt64,
                                             _ statistic: ([[Double]], [[Double]]) -> Double) -> [Double] {
        var random = SeededGenerator(seed: seed)
        return (0..<reps).map { _ in
            let resampledX = resample(x, &random)
            return statistic(resampledX, resample(y, &random))
        }
    }

    /// The percentile interval of a bootstrap distribution: its (1 − confidence)/2 and (1 + confidence)/2 quantiles.
    public static func percentileInterval(estimate: Double, replicates: [Double], confidence: Double = 0.95) -> Interval {
        let sorted = replicates.sorted(), alpha = (1 - confidence) / 2
        return Interval(estimate: estimate, low: quantile(sorted: sorted, alpha), high: quantile(sorted: sorted, 1 - alpha))
    }

    /// The statistic of `scores` with its stratified-bootstrap percentile interval (`reps` resamples), as rliable's
    /// `get_interval_estimates(..., method="percentile")` computes it; deterministic given `seed`.
    public static func interval(_ scores: [[Double]], reps: Int = 2000, confidence: Double = 0.95, seed: UInt64 = 0,
                                _ statistic: ([[Double]]) -> Double) -> Interval {
        percentileInterval(estimate: statistic(scores), replicates: bootstrapDistribution(scores, reps: reps, seed: seed, statistic),
                           confidence: confidence)
    }

    /// P(X > Y) with its percentile interval from independent stratified resamples of x and y.
    public static func improvementInterval(_ x: [[Double]], _ y: [[Double]], reps: Int = 2000, confidence: Double = 0.95,
                                           seed: UInt64 = 0) -> Interval {
        percentileInterval(estimate: probabilityOfImprovement(x, y),
                           replicates: bootstrapDistribution(x, y, reps: reps, seed: seed, probabilityOfImprovement),
                           confidence: confidence)
    }

    // MARK: Helpers

    /// Each task's mean over runs. Shape: runs × tasks → tasks.
    static func taskMeans(_ scores: [[Double]]) -> [Double] {
        (0..<scores[0].count).map { task in scores.reduce(0) { $0 + $1[task] } / Double(scores.count) }
    }

    /// The median of non-empty `values` (mean of the two middle values when the count is even).
    static func medianOf(_ values: [Double]) -> Double {
        let sorted = values.sorted(), middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
