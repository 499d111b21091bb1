import Environments
import Foundation
import Sim

/// Greedy evaluation: `episodes` episodes on fresh copies of the environment, episode k seeded from the evaluation
/// seed, so every evaluation of a run sees the same starts.
public struct EvaluationResult: Codable, Sendable {
    public var returns: [Double]
    public var lengths: [Int]
    /// The environment's own figures (its ``EnvironmentMetadata/metrics``), one value per episode each.
    public var metrics: [MetricValues] = []

    /// One metric's per-episode values.
    public struct MetricValues: Codable, Sendable {
        public let metric: EvaluationMetric
        public var values: [Double]
        public var mean: Double { values.reduce(0, +) / Double(max(values.count, 1)) }
    }

    public init(returns: [Double], lengths: [Int], metrics: [EvaluationMetric] = []) {
        self.returns = returns
        self.lengths = lengths
        self.metrics = metrics.map { MetricValues(metric: $0, values: []) }
    }

    public var meanReturn: Double { returns.reduce(0, +) / Double(returns.count) }
    public var stdReturn: Double {
        let mean = meanReturn
        return (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(returns.count)).squareRoot()
    }
    public var meanLength: Double { Double(lengths.reduce(0, +)) / Double(lengths.count) }

    /// The standard error of the mean of `values`: the sample standard deviation (n − 1) over √n (0 for one value).
    public static func standardError(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let n = Double(values.count), mean = values.reduce(0, +) / n
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1) / n).squareRoot()
    }

    /// The standard error of the mean return.
    public var returnStandardError: Double { Self.standardError(returns) }

    /// The mean over episodes of the metric called `name` (e.g. "success_rate"), nil when the environment has none.
    public func mean(of name: String) -> Double? { metrics.first { $0.metric.name == name }?.mean }
    /// The per-episode values of the metric called `name`.
    public func values(of name: String) -> [Double]? { metrics.first { $0.metric.name == name }?.values }

    /// Success rate, where the environment reports success (logs and presets read it under this name).
    public var successRate: Double? { mean(of: "success_rate") }
    /// The best reachable return, where the environment computes it (gridworld's breadth-first search).
    public var meanOptimalReturn: Double? { mean(of: "optimal_return") }
    // The figures the logs read by name (until they iterate `metrics`).
    public var collisionRate: Double? { mean(of: "collision_rate") }
    public var meanSpeed: Double? { mean(of: "mean_speed") }
    public var meanTrafficSpeed: Double? { mean(of: "mean_traffic_speed") }
    public var meanFinalDistance: Double? { mean(of: "final_distance") }

    /// The environment's figures as "label value unit" phrases, for summaries ("success 90.0%", "mean speed 24.5 m/s").
    /// The optimal return is left to the caller, which sets the achieved return against it.
    public var details: [String] {
        metrics.filter { $0.metric.name != "optimal_return" }.map { $0.metric.phrase($0.mean) }
    }

    /// `details` with each figure's standard error over the episodes ("success 86.0% ± 3.5%").
    public var detailsWithErrors: [String] {
        metrics.filter { $0.metric.name != "optimal_return" }.map {
            $0.metric.phrase($0.mean) + " ± " + $0.metric.formatted(Self.standardError($0.values))
        }
    }
}

/// A policy under evaluation: told when an episode starts (recurrent policies reset their memory), then asked for
/// one action per observation.
public protocol EvaluationPolicy: AnyObject {
    func beginEpisode()
    func act(_ observation: UnsafePointer<Float>, into action: UnsafeMutablePointer<Float>)
    /// A recurrent policy's hidden state after the last action (nil for feed-forward policies), for displays.
    var hiddenState: [Float]? { get }
}

extension EvaluationPolicy {
    public var hiddenState: [Float]? { nil }
}

public enum Evaluator {
    /// Runs `episodes` episodes with `policy`. Returns the statistics and a replay of the best episode.
    public static func evaluate(env id: String, options: [String: String], seed: UInt64, episodes: Int,
                                policy: some EvaluationPolicy) throws -> (result: EvaluationResult, best: Replay) {
        let env = try EnvironmentRegistry.make(id, options: options)
        let metrics = env.metadata.metrics
        var result = EvaluationResult(returns: [], lengths: [], metrics: metrics)
        let perStep = metrics.indices.filter { metrics[$0].aggregation == .meanOverSteps }
        var best: Replay?
        var bestReturn = -Double.infinity
        var observation = [Float](repeating: 0, count: env.observationSpace.flatCount)
        var action = [Float](repeating: 0, count: env.actionSpace.actionWidth)
        var sums = [Double](repeating: 0, count: metrics.count)
        for episode in 0..<episodes {
            let episodeSeed = VectorEnvironment<AnyEnvironment>.copySeed(seed, index: episode)
            env.reset(seed: episodeSeed, observation: &observation)
            var recorder = ReplayRecorder(environment: env, seed: episodeSeed, metadata: ["recorded_by": "dojo evaluation"])
            let start = env.info
            for (k, metric) in metrics.enumerated() where metric.aggregation == .atStart {
                result.metrics[k].values.append(start[metric.info] ?? 0)
            }
            var total = 0.0, length = 0
            for k in perStep { sums[k] = 0 }
            policy.beginEpisode()
            while true {
                policy.act(observation, into: &action)
                let step = env.step(action, observation: &observation)
                recorder.record(action: action, result: step, environment: env)
                total += Double(step.reward)
                length += 1
                if !perStep.isEmpty {
                    let info = env.info
                    for k in perStep { sums[k] += info[metrics[k].info] ?? 0 }
                }
                if step.done { break }
            }
            if let failure = env.failure { throw failure }
            let end = env.info
            for (k, metric) in metrics.enumerated() {
                switch metric.aggregation {
                case .atStart: break
                case .atEnd: result.metrics[k].values.append(end[metric.info] ?? 0)
                case .meanOverSteps: result.metrics[k].values.append(sums[k] / Double(length))
                }
            }
            result.returns.append(total)
            result.lengths.append(length)
            if total > bestReturn {
                bestReturn = total
                best = recorder.replay
                best!.metadata["return"] = String(total)
                best!.metadata["episode"] = String(episode)
            }
        }
        return (result, best!)
    }
}

/// Progress on the terminal: a redrawn bar when stdout is a terminal, a line every tenth of the run otherwise.
public final class ProgressReporter {
    public let total: Int
    /// The step this session started at (non-zero when resuming), so rates count this session's steps only.
    private let first: Int
    private let interactive: Bool
    private let start = Date()
    private var lastPrintedTenth = -1
    private let quiet: Bool

    public init(total: Int, startingAt first: Int = 0, quiet: Bool = false) {
        self.total = total
        self.first = first
        self.quiet = quiet
        interactive = isatty(STDOUT_FILENO) == 1
    }

    public func update(step: Int, recentReturn: Double?, extra: String = "") {
        guard !quiet else { return }
        let elapsed = Date().timeIntervalSince(start)
        let fraction = min(1, Double(step) / Double(max(total, 1)))
        let rate = elapsed > 0 ? Double(step - first) / elapsed : 0
        let eta = rate > 0 ? Double(total - step) / rate : 0
        let returnText = recentReturn.map { String(format: "return %.3f", $0) } ?? "return –"
        let text = String(format: "%3.0f%% %@/%@ steps | %@ steps/s | %@ | ETA %@", fraction * 100,
                          Self.grouped(step), Self.grouped(total), Self.grouped(Int(rate)), returnText, Self.clock(eta))
            + (extra.isEmpty ? "" : " | " + extra)
        if interactive {
            let width = 24, filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            try? FileHandle.standardOutput.write(contentsOf: Data("\r\u{1B}[2K[\(bar)] \(text)".utf8))
        } else {
            let tenth = Int(fraction * 10)
            if tenth > lastPrintedTenth {
                lastPrintedTenth = tenth
                print(text)
            }
        }
    }

    public func finish() {
        if interactive && !quiet { print() }
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
