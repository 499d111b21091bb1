import Agents
import Environments
import Foundation
import Neural
import Sim

/// An episode to watch, step by step: a trained run's policy, random actions, a person's actions, or a saved
/// replay. It keeps the environment, the running totals and what the policy "thought" (Q-values or action
/// probabilities, the value estimate) for the heads-up display; replays can seek to any step. No window here: the
/// visualizer (or a headless exporter) asks for frames and passes commands.
public final class WatchSession {
    public enum Driver {
        case trained(TrainedRun)
        case random
        /// Actions come from `step(action:)` (a person at the keyboard).
        case keyboard
        /// A replay; relative map paths in its options are taken in `folder` (the replay file's folder).
        case replay(Replay, folder: String? = nil)
        /// A policy being trained (`dojo train --watch`), on the run's environment.
        case policy(any EvaluationPolicy, title: String)
    }

    public let driver: Driver
    public let environment: any Environment
    public let seed: UInt64
    public private(set) var episode = 1
    public private(set) var step = 0
    public private(set) var episodeReturn = 0.0
    public private(set) var lastReward = 0.0
    public private(set) var lastAction: [Float] = []
    public private(set) var done = false
    /// Per-action values for the display: Q-values or probabilities, and the value estimate.
    public private(set) var actionValues: [Double] = []
    public private(set) var valueEstimate: Double?
    /// The heading of the per-action bars ("Q-VALUES" or "ACTION PROBABILITIES"; empty without a policy's view).
    private var barsTitle = ""
    /// The ego-attention encoder's weights over the observation rows, when the policy has one.
    public private(set) var attentionWeights: [Double] = []
    private var observation: [Float]
    private var rng: SeededGenerator
    private let policy: (any EvaluationPolicy)?
    /// Replays: the environment state after each step (index 0: after reset), for seeking.
    private var replayStates: [[UInt64]] = []

    public init(driver: Driver, environment id: String? = nil, options: [String: String] = [:], seed: UInt64 = 0) throws {
        self.driver = driver
        self.seed = seed
        switch driver {
        case .trained(let run):
            environment = try EnvironmentRegistry.make(run.config.env, options: run.config.envOptions)
            policy = run.policy
        case .replay(let replay, let folder):
            environment = try EnvironmentRegistry.make(for: replay, folder: folder)
            if let problem = replay.problem(on: environment) {
                throw ReplayError.malformed(path: folder.map { $0 + "/…" } ?? "replay", detail: problem)
            }
            policy = nil
        case .policy(let live, _):
            guard let id else { preconditionFailure("a live policy needs its environment id") }
            environment = try EnvironmentRegistry.make(id, options: options)
            policy = live
        case .random, .keyboard:
            guard let id else { preconditionFailure("random and keyboard play need an environment id") }
            environment = try EnvironmentRegistry.make(id, options: options)
            policy = nil
        }
        observation = [Float](repeating: 0, count: environment.observationSpace.flatCount)
        rng = SeededGenerator(seed: seed, stream: 13)
        lastAction = [Float](repeating: 0, count: environment.actionSpace.actionWidth)
        if case .replay(let replay, _) = driver {
            let start = UInt64(replay.seed) ?? 0
            environment.reset(seed: start, observation: &observation)
            replayStates.append(environment.saveState())
            for action in replay.actions {
                _ = environment.step(action, observation: &observation)
                replayStates.append(environment.saveState())
            }
        }
        restart()
    }

    public var title: String {
        switch driver {
        case .trained(let run): return "\(run.config.env.uppercased()) \(run.config.agent.uppercased())"
        case .random: return "\(environment.id.uppercased()) RANDOM"
        case .keyboard: return "\(environment.id.uppercased()) KEYBOARD"
        case .replay: return "\(environment.id.uppercased()) REPLAY"
        case .policy(_, let title): return title
        }
    }

    public var isReplay: Bool { if case .replay = driver { return true } else { return false } }
    public var replayLength: Int { max(replayStates.count - 1, 0) }

    /// Starts the current episode over (replays: from their first step).
    public func restart() {
        if case .replay = driver { seek(to: 0); return }
        environment.reset(seed: seed &+ UInt64(episode - 1), observation: &observation)
        step = 0
        episodeReturn = 0
        lastReward = 0
        done = false
        policy?.beginEpisode()
        updateThoughts()
    }

    /// Starts the next episode.
    public func nextEpisode() {
        episode += 1
        restart()
    }

    /// Advances one step. `action` is a person's choice (keyboard play); other drivers choose their own.
    /// Returns false when nothing happened (the episode or replay is over, or keyboard play got no action).
    @discardableResult
    public func advance(action: Int? = nil) -> Bool {
        guard !done else { return false }
        switch driver {
        case .replay(let replay, _):
            guard step < replay.actions.count else { done = true; return false }
            lastAction = replay.actions[step]
            try? environment.restoreState(replayStates[step + 1])
            lastReward = Double(replay.rewards[step])
            episodeReturn += lastReward
            step += 1
            done = step == replay.actions.count
            return true
        case .keyboard:
            guard let action else { return false }
            lastAction[0] = Float(action)
        case .random:
            environment.actionSpace.sample(into: &lastAction, using: &rng)
        case .trained, .policy:
            policy!.act(observation, into: &lastAction)
        }
        let result = environment.step(lastAction, observation: &observation)
        step += 1
        lastReward = Double(result.reward)
        episodeReturn += lastReward
        done = result.done
        updateThoughts()
        return true
    }

    /// Replays: jumps to just after step `target` (0: the start), recomputing the return.
    public func seek(to target: Int) {
        guard case .replay(let replay, _) = driver else { return }
        let k = max(0, min(target, replay.actions.count))
        try? environment.restoreState(replayStates[k])
        step = k
        episodeReturn = replay.rewards.prefix(k).reduce(0) { $0 + Double($1) }
        lastReward = k > 0 ? Double(replay.rewards[k - 1]) : 0
        lastAction = k > 0 ? replay.actions[k - 1] : [Float](repeating: 0, count: environment.actionSpace.actionWidth)
        done = k == replay.actions.count
    }

    /// What the trained policy makes of the current observation, for the display.
    private func updateThoughts() {
        let explainable = policy as? any ExplainablePolicy
        let thoughts = observation.withUnsafeBufferPointer { buffer in buffer.baseAddress.flatMap { explainable?.thoughts(about: $0) } }
        actionValues = thoughts?.actions ?? []
        valueEstimate = thoughts?.value
        attentionWeights = thoughts?.attention ?? []
        barsTitle = thoughts.map { $0.kind == .actionValues ? "Q-VALUES" : "ACTION PROBABILITIES" } ?? ""
    }

    /// Attention lines for the display: each observed entity's position in the frame with its weight.
    public var attentionOverlay: [(position: (x: Double, y: Double), weight: Double)] {
        guard !attentionWeights.isEmpty, let entities = innermostEnvironment(environment) as? EntityPositions else { return [] }
        let positions = entities.entityScreenPositions
        return zip(positions, attentionWeights).compactMap { position, weight in position.map { ($0, weight) } }
    }

    /// The recurrent policy's hidden state, for the display's strip.
    public var hiddenState: [Float]? { policy?.hiddenState }

    /// The names of the discrete actions (for the bars and the action line).
    public var actionNames: [String] {
        guard case .discrete(let n) = environment.actionSpace else { return [] }
        switch environment.id {
        case "gridworld": return ["UP", "DOWN", "LEFT", "RIGHT"]
        case "cartpole": return ["LEFT", "RIGHT"]
        case "highway": return ["LEFT", "IDLE", "RIGHT", "FASTER", "SLOWER"]
        default: return (0..<n).map { "A\($0)" }
        }
    }

    /// What the heads-up display shows for the current state.
    public struct Display {
        public var title: String, episode: Int, step: Int, reward: Double, episodeReturn: Double, action: String
        /// Per-action bars (Q-values or probabilities) and their heading.
        public var bars: [(label: String, value: Double)], barsTitle: String
        public var value: Double?
        /// Environment facts (distance, speed, success, replay position).
        public var lines: [String]
    }

    public var display: Display {
        let names = actionNames
        let action: String
        if !names.isEmpty { action = step == 0 ? "-" : names[min(max(Int(lastAction[0]), 0), names.count - 1)] }
        else { action = lastAction.map { String(format: "%.2f", $0) }.joined(separator: " ") }
        let info = environment.info
        var lines: [String] = []
        if let d = info["distance"] { lines.append(String(format: "DISTANCE TO TARGET %.3f M", d)) }
        if let s = info["speed"] { lines.append(String(format: "SPEED %.1f M/S  LANE %d", s, Int(info["lane"] ?? 0))) }
        if let success = info["success"], done { lines.append(success > 0 ? "SUCCESS" : "NO SUCCESS") }
        if case .replay = driver { lines.append("REPLAY STEP \(step) / \(replayLength)") }
        return Display(title: title, episode: episode, step: step, reward: lastReward, episodeReturn: episodeReturn,
                       action: action, bars: zip(names, actionValues).map { (label: $0, value: $1) }, barsTitle: barsTitle,
                       value: valueEstimate, lines: lines)
    }
}
