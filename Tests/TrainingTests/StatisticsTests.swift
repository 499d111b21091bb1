import Foundation
import Testing
import TestSupport
import Sim
@testable import Training

/// The aggregate statistics and bootstrap intervals of `dojo compare` against rliable (the reference written by
/// `scripts/make_rliable_fixtures.py`), and the coverage of the IQM interval.
@Suite struct StatisticsTests {
    struct Reference: Decodable {
        struct Estimate: Decodable {
            let point, low, high: Double
            let se_low, se_high: Double
        }
        struct Profile: Decodable { let taus, fractions: [Double] }
        struct Case: Decodable {
            let name: String
            let scores: [[Double]]
            let statistics: [String: Estimate]
            let profile: Profile
        }
        struct Pair: Decodable {
            let name: String
            let x, y: [[Double]]
            let probability_of_improvement: Estimate
        }
        let reps: Int
        let confidence: Double
        let cases: [Case]
        let pairs: [Pair]
    }

    static func reference() throws -> Reference {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("rliable/intervals.json")))
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    static let statistics: [String: @Sendable ([[Double]]) -> Double] = [
        "mean": Statistics.mean, "median": Statistics.median, "median_runs": Statistics.medianOfRuns,
        "iqm": Statistics.interquartileMean,
    ]

    /// Point estimates are deterministic: they must equal rliable's up to floating-point summation order
    /// (NumPy sums pairwise, Swift left to right), far below 1e-12 relative for these few numbers.
    static func expectSamePoint(_ ours: Double, _ theirs: Double, _ what: String) {
        #expect(abs(ours - theirs) <= 1e-12 * max(1, abs(theirs)), "\(what): \(ours) vs rliable \(theirs)")
    }

    /// Checks our bootstrap interval (`replicates`, B = 50,000 draws from our generator) against rliable's
    /// (B = 50,000 from NumPy's). The two cannot agree exactly: each endpoint is the 2.5% or 97.5% quantile of a
    /// different Monte-Carlo sample of the same bootstrap distribution. So the test bounds the Monte-Carlo error:
    ///
    /// 1. In probability (all statistics): rliable's endpoint v is the p-quantile of its B draws, so the true
    ///    bootstrap CDF F(v) differs from p by about N(0, p(1−p)/B); our empirical CDF at v adds an independent error
    ///    of the same size. So G(v) − p has standard deviation σ = √(2p(1−p)/B) ≈ 0.00099. The distance from p to
    ///    [G(v⁻), G(v)] (an interval where the distribution has an atom — medians and small samples are lattice
    ///    valued) must be below 4σ.
    /// 2. In score units (statistics whose bootstrap distribution is near continuous, ≥ 5,000 distinct values among
    ///    our draws): |Δ| < 4 √(se_ours² + se_rliable²), each se = √(p(1−p)/B) / f̂(q_p), the density f̂ from the
    ///    quantiles p ± 0.005 of that side's own draws (the generator script computes rliable's the same way).
    ///
    /// Why 4σ and not 3: the file holds about 60 endpoint comparisons; at 3σ one of them would exceed it by chance
    /// with probability ≈ 15%, at 4σ ≈ 0.4% (Bonferroni). The seeds are fixed, so the result does not vary
    /// between runs; the bound was chosen before the comparison was first run.
    static func expectSameInterval(_ replicates: [Double], _ reference: Reference.Estimate, reps: Int, confidence: Double,
                                   _ what: String) {
        let sorted = replicates.sorted(), alpha = (1 - confidence) / 2
        let ours = Statistics.percentileInterval(estimate: reference.point, replicates: replicates, confidence: confidence)
        let b = Double(sorted.count)
        for (p, theirs, mine, theirError) in [(alpha, reference.low, ours.low, reference.se_low),
                                              (1 - alpha, reference.high, ours.high, reference.se_high)] {
            let below = Double(sorted.filter { $0 < theirs }.count) / b
            let atOrBelow = Double(sorted.filter { $0 <= theirs }.count) / b
            let distance = p < below ? below - p : p > atOrBelow ? p - atOrBelow : 0
            let sigma = (2 * p * (1 - p) / Double(reps)).squareRoot()
            #expect(distance < 4 * sigma, "\(what) p=\(p): rliable's endpoint \(theirs) sits at our CDF [\(below), \(atOrBelow)] (ours \(mine))")
            if Set(sorted).count >= 5000 {
                let delta = 0.005
                let spread = Statistics.quantile(sorted: sorted, p + delta) - Statistics.quantile(sorted: sorted, p - delta)
                let myError = spread / (2 * delta) * (p * (1 - p) / b).squareRoot()
                let bound = 4 * (myError * myError + theirError * theirError).squareRoot()
                #expect(abs(mine - theirs) < bound, "\(what) p=\(p): ours \(mine), rliable \(theirs), bound \(bound)")
            }
        }
    }

    @Test("Mean, median, IQM, median of runs and their percentile intervals agree with rliable")
    func aggregatesMatchRliable() throws {
        let reference = try Self.reference()
        #expect(reference.cases.count >= 5 && reference.cases.contains { $0.scores[0].count == 1 })
        for (index, item) in reference.cases.enumerated() {
            #expect(Statistics.problem(item.scores) == nil)
            for (name, statistic) in Self.statistics.sorted(by: { $0.key < $1.key }) {
                let expected = try #require(item.statistics[name], "\(item.name) lacks \(name)")
                Self.expectSamePoint(statistic(item.scores), expected.point, "\(item.name) \(name)")
                let replicates = Statistics.bootstrapDistribution(item.scores, reps: reference.reps, seed: UInt64(index), statistic)
                Self.expectSameInterval(replicates, expected, reps: reference.reps, confidence: reference.confidence,
                                        "\(item.name) \(name)")
            }
            #expect(Statistics.performanceProfile(item.scores, thresholds: item.profile.taus) == item.profile.fractions, "\(item.name)")
        }
    }

    @Test("Probability of improvement (ties count 1/2) and its independent-resampling interval agree with rliable")
    func improvementMatchesRliable() throws {
        let reference = try Self.reference()
        for (index, pair) in reference.pairs.enumerated() {
            let expected = pair.probability_of_improvement
            Self.expectSamePoint(Statistics.probabilityOfImprovement(pair.x, pair.y), expected.point, pair.name)
            let replicates = Statistics.bootstrapDistribution(pair.x, pair.y, reps: reference.reps, seed: 100 + UInt64(index),
                                                              Statistics.probabilityOfImprovement)
            Self.expectSameInterval(replicates, expected, reps: reference.reps, confidence: reference.confidence, pair.name)
        }
    }

    @Test("Trimming follows scipy.stats.trim_mean(·, 0.25): ⌊n/4⌋ cut from each end")
    func trimming() {
        #expect(Statistics.interquartileMean([[1], [2], [3]]) == 2)                  // n = 3: nothing cut
        #expect(Statistics.interquartileMean([[100], [1], [2], [-50]]) == 1.5)       // n = 4: one cut each end
        #expect(Statistics.interquartileMean([[9], [1], [2], [3], [-9]]) == 2)       // n = 5: one cut each end
        #expect(Statistics.interquartileMean([[0], [1], [1], [1], [5], [5], [7], [8]]) == 3)  // n = 8: two cut
        #expect(Statistics.medianOfRuns([[4], [1], [3], [2]]) == 2.5)
        #expect(Statistics.normalizedArea(steps: [0, 10, 30], values: [0, 10, 10]) == 250.0 / 30)
        #expect(Statistics.normalizedArea(steps: [5], values: [7]) == 7)
        #expect(Statistics.problem([]) != nil && Statistics.problem([[1], [1, 2]]) != nil && Statistics.problem([[.nan]]) != nil)
    }

    @Test("Plot ticks are round values inside the range")
    func ticks() {
        #expect(ComparisonPlot.ticks(0, 10_000) == [0, 2000, 4000, 6000, 8000, 10_000])
        #expect(ComparisonPlot.ticks(-0.03, 1.07) == [0, 0.5, 1])
        #expect(ComparisonPlot.ticks(-7, 7) == [-5, 0, 5])
        #expect(ComparisonPlot.label(0.6000000000000001, spacing: 0.2) == "0.6")
        #expect(ComparisonPlot.label(250_000, spacing: 50_000) == "250K" && ComparisonPlot.label(2e6, spacing: 5e5) == "2M")
        #expect(ComparisonPlot.ticks(1e17, 1e17).count == 1)
    }

    @Test("The same seed gives the same interval; another seed a different one")
    func deterministic() {
        let scores: [[Double]] = (0..<8).map { [Double($0 * $0 % 7), Double($0)] }
        let a = Statistics.interval(scores, reps: 500, seed: 3, Statistics.interquartileMean)
        #expect(a == Statistics.interval(scores, reps: 500, seed: 3, Statistics.interquartileMean))
        #expect(a != Statistics.interval(scores, reps: 500, seed: 4, Statistics.interquartileMean))
        #expect(a.low <= a.estimate && a.estimate <= a.high)
    }

    /// 400 experiments of n = 10 runs with normal scores (mean 3, sd 2; the population IQM is 3 by symmetry), each
    /// with its 95% IQM interval from 2,000 resamples. The percentile bootstrap is known to run a little narrow with
    /// ten samples (it resamples the empirical distribution, whose spread is ≈ √((n−1)/n) of the population's); its
    /// actual coverage here, measured separately with NumPy over 4,000 experiments, is 0.94. Over 400 experiments
    /// the observed fraction has binomial sd ≈ √(0.94·0.06/400) ≈ 0.012, so 0.90–0.99 is that coverage ± 3 sd,
    /// rounded outward; a wrong interval (e.g. the wrong quantiles, or no resampling) lands far outside it.
    @Test("The 95% IQM interval covers the true IQM about 95% of the time")
    func coverage() {
        var random = SeededGenerator(seed: 2024)
        var covered = 0
        let experiments = 400
        for experiment in 0..<experiments {
            let scores = (0..<10).map { _ in [3 + 2 * random.nextGaussian()] }
            let interval = Statistics.interval(scores, reps: 2000, seed: UInt64(experiment), Statistics.interquartileMean)
            if interval.low <= 3 && 3 <= interval.high { covered += 1 }
        }
        let rate = Double(covered) / Double(experiments)
        #expect(rate >= 0.90 && rate <= 0.99, "coverage \(rate)")
    }
}
