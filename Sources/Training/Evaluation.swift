import Environments
import Foundation
import Sim

/// Greedy evaluation: `episodes` episodes on fresh copies of the environment, episode k seeded from the evaluation
/// seed, so every evaluation of a run sees the same starts.
public struct EvaluationResult: Codable, Sendable {
    public var returns: [Double]
    public var lengths: [Int]
    /// Per-episode success (1/0) where the environment reports `success`, else nil.
    public var successes: [Double]?
    /// Per-episode best reachable return where the environment reports `optimal_return` (gridworld), else nil.
    public var optimalReturns: [Double]?
    /// Per-episode crash (1/0) where the environment reports `crashed` (highway), else nil.
    public var crashes: [Double]? = nil
    /// Per-episode mean speed over its steps (m/s) where the environment reports `speed` (highway), else nil.
    public var speeds: [Double]? = nil
    /// Per-episode mean speed of the other vehicles (m/s) where the environment reports `traffic_speed`, else nil.
    public var trafficSpeeds: [Double]? = nil
    /// Per-episode final distance to the target (m) where the environment reports `distance` (robot arm), else nil.
    public var finalDistances: [Double]? = nil

    public var meanReturn: Double { returns.reduce(0, +) / Double(returns.count) }
    public var stdReturn: Double {
        let mean = meanReturn
        return (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(returns.count)).squareRoot()
    }
    public var meanLength: Double { Double(lengths.reduce(0, +)) / Double(lengths.count) }
    public var successRate: Double? { successes.map { $0.reduce(0, +) / Double($0.count) } }
    public var meanOptimalReturn: Double? { optimalReturns.map { $0.reduce(0, +) / Double($0.count) } }
    public var collisionRate: Double? { crashes.map { $0.reduce(0, +) / Double($0.count) } }
    public var meanSpeed: Double? { speeds.map { $0.reduce(0, +) / Double($0.count) } }
    public var meanTrafficSpeed: Double? { trafficSpeeds.map { $0.reduce(0, +) / Double($0.count) } }
    public var meanFinalDistance: Double? { finalDistances.map { $0.reduce(0, +) / Double($0.count) } }

    /// The environment-specific figures as "name value" phrases, for summaries.
    public var details: [String] {
        var parts: [String] = []
        if let v = successRate { parts.append(String(format: "success %.1f%%", v * 100)) }
        if let v = collisionRate { parts.append(String(format: "collisions %.1f%%", v * 100)) }
        if let v = meanSpeed { parts.append(String(format: "mean speed %.2f m/s", v)) }
        if let v = meanTrafficSpeed { parts.append(String(format: "traffic speed %.2f m/s", v)) }
        if let v = meanFinalDistance { parts.append(String(format: "final distance %.4f m", v)) }
        return parts
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
        let reports = env.info
        var result = EvaluationResult(returns: [], lengths: [], successes: reports["success"] == nil ? nil : [],
                                      optimalReturns: reports["optimal_return"] == nil ? nil : [])
        if reports["crashed"] != nil { result.crashes = [] }
        if reports["speed"] != nil { result.speeds = [] }
        if reports["traffic_speed"] != nil { result.trafficSpeeds = [] }
        if reports["distance"] != nil { result.finalDistances = [] }
        var best: Replay?
        var bestReturn = -Double.infinity
        var observation = [Float](repeating: 0, count: env.observationSpace.flatCount)
        var action = [Float](repeating: 0, count: env.actionSpace.actionWidth)
        for episode in 0..<episodes {
            let episodeSeed = VectorEnvironment<AnyEnvironment>.copySeed(seed, index: episode)
            env.reset(seed: episodeSeed, observation: &observation)
            var recorder = ReplayRecorder(environment: env, seed: episodeSeed, metadata: ["recorded_by": "dojo evaluation"])
            if result.optimalReturns != nil { result.optimalReturns!.append(env.info["optimal_return"] ?? 0) }
            var total = 0.0, length = 0, speedSum = 0.0, trafficSum = 0.0
            policy.beginEpisode()
            while true {
                policy.act(observation, into: &action)
                let step = env.step(action, observation: &observation)
                recorder.record(action: action, result: step, environment: env)
                total += Double(step.reward)
                length += 1
                if result.speeds != nil {
                    let info = env.info
                    speedSum += info["speed"] ?? 0
                    trafficSum += info["traffic_speed"] ?? 0
                }
                if step.done { break }
            }
            if let failure = env.failure { throw failure }
            let end = env.info
            if result.crashes != nil { result.crashes!.append(end["crashed"] ?? 0) }
            if result.speeds != nil { result.speeds!.append(speedSum / Double(length)) }
            if result.trafficSpeeds != nil { result.trafficSpeeds!.append(trafficSum / Double(length)) }
            if result.finalDistances != nil { result.finalDistances!.append(end["distance"] ?? 0) }
            result.returns.append(total)
            result.lengths.append(length)
            if result.successes != nil { result.successes!.append(end["success"] ?? 0) }
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
