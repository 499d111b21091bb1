import Agents
import Environments
import Foundation
import Neural
import Sim

/// An episode to watch, step by step: a trained run's policy, random actions, a person's actions, or a saved
/// replay. It keeps the environment, the running totals and what the policy "thought" (Q-values or action
/// probabilities, the value estimate) for the heads-up display; replays can seek to any step. No window here: the
/// visualizer (or a headless exporter) asks for frames and passes commands.
///
/// Timing: after a step the display shows the action taken beside the values of the state it was chosen in (not
/// of the state it led to), so a greedy policy's highlighted action is always the largest value. An environment that
/// advances several simulation frames per step (``EnvironmentMetadata/framesPerStep``) leaves the frames between the
/// two decisions pending; `showNextFrame` walks through them before the state after the step.
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
    /// The environment's self-description (action names, frame rate, frames per step, keyboard play).
    public let metadata: EnvironmentMetadata
    public let seed: UInt64
    public private(set) var episode = 1
    public private(set) var step = 0
    public private(set) var episodeReturn = 0.0
    public private(set) var lastReward = 0.0
    public private(set) var lastAction: [Float] = []
    public private(set) var done = false
    /// Environment steps taken by `advance`, over all episodes (seeking does not count).
    public private(set) var stepsTaken = 0
    /// Per-action values for the display: Q-values or probabilities, and the value estimate.
    public private(set) var actionValues: [Double] = []
    /// A continuous policy's action for the current observation and (SAC) its spread, in the environment's units.
    public private(set) var actionMeans: [Double] = []
    public private(set) var actionSpreads: [Double] = []
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
    /// The frames of the last step not shown yet (drawn by the environment's intermediate-frame hook), with the
    /// attention overlay and the `info` of each.
    private var pending: [(frame: Canvas, attention: [(position: (x: Double, y: Double), weight: Double)], info: [String: Double])] = []
    /// The environment's hook for the frames between decisions, when it draws more than one per step.
    private let intermediateFrames: (any IntermediateFrames)?

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
        metadata = environment.metadata
        intermediateFrames = metadata.framesPerStep > 1 ? innermostEnvironment(environment) as? any IntermediateFrames : nil
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

    deinit { intermediateFrames?.onIntermediateFrame = nil }

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
        pending = []
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
        pending = []
        switch driver {
        case .replay(let replay, _):
            guard step < replay.actions.count else { done = true; return false }
            lastAction = replay.actions[step]
            if intermediateFrames != nil {
                // Stepped again from the saved state for the frames in between (the replay re-simulated exactly).
                try? environment.restoreState(replayStates[step])
                stepCapturingFrames()
            }
            try? environment.restoreState(replayStates[step + 1])
            lastReward = Double(replay.rewards[step])
            episodeReturn += lastReward
            step += 1
            stepsTaken += 1
            done = step == replay.actions.count
            return true
        case .keyboard:
            guard let action else { return false }
            lastAction[0] = Float(action)
        case .random:
            environment.actionSpace.sample(into: &lastAction, using: &rng)
        case .trained, .policy:
            // The display keeps what the policy made of this state, the one the action is chosen in.
            updateThoughts()
            policy!.act(observation, into: &lastAction)
        }
        let result = stepCapturingFrames()
        step += 1
        stepsTaken += 1
        lastReward = Double(result.reward)
        episodeReturn += lastReward
        done = result.done
        return true
    }

    /// Steps with `lastAction`, keeping the frames the environment draws between decisions.
    @discardableResult
    private func stepCapturingFrames() -> StepResult {
        intermediateFrames?.onIntermediateFrame = { [unowned self] in
            pending.append((environment.renderFrame(), attentionOverlay, environment.info))
        }
        defer { intermediateFrames?.onIntermediateFrame = nil }
        return environment.step(lastAction, observation: &observation)
    }

    /// Frames of the last step not shown yet.
    public var pendingFrames: Int { pending.count }

    /// Moves to the next frame of the last step.
    public func showNextFrame() { if !pending.isEmpty { pending.removeFirst() } }

    /// Drops the frames of the last step not shown yet.
    public func skipPendingFrames() { pending = [] }

    /// The environment's frame to show (the first pending frame, else the current state) and its attention overlay.
    public func currentFrame() -> (frame: Canvas, attention: [(position: (x: Double, y: Double), weight: Double)]) {
        if let first = pending.first { return (first.frame, first.attention) }
        return (environment.renderFrame(), attentionOverlay)
    }

    /// Replays: jumps to just after step `target` (0: the start), recomputing the return.
    public func seek(to target: Int) {
        guard case .replay(let replay, _) = driver else { return }
        let k = max(0, min(target, replay.actions.count))
        pending = []
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
        actionMeans = thoughts?.actionMeans ?? []
        actionSpreads = thoughts?.actionSpreads ?? []
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
        return metadata.actionNames.count == n ? metadata.actionNames : (0..<n).map { "A\($0)" }
    }

    /// What the heads-up display shows for the current state.
    public struct Display {
        public var title: String, episode: Int, step: Int, reward: Double, episodeReturn: Double, action: String
        /// Per-action bars (Q-values or probabilities) and their heading.
        public var bars: [(label: String, value: Double)], barsTitle: String
        /// The bar of the action taken (discrete actions, after the first step).
        public var chosen: Int?
        public var value: Double?
        /// Environment facts (distance, speed, success, replay position).
        public var lines: [String]
    }

    public var display: Display {
        let names = actionNames
        let action: String
        var chosen: Int?
        if !names.isEmpty {
            if step > 0 { chosen = min(max(Int(lastAction[0]), 0), names.count - 1) }
            action = chosen.map { names[$0] } ?? "-"
        } else {
            action = lastAction.map { String(format: "%.2f", $0) }.joined(separator: " ")
        }
        let info = pending.first?.info ?? environment.info
        var lines: [String] = []
        // The metrics evaluations report, as the environment stands now (outcomes once the episode is over).
        for metric in metadata.metrics where metric.aggregation != .atStart {
            guard let value = info[metric.info] else { continue }
            let name = metric.info.replacingOccurrences(of: "_", with: " ").uppercased()
            if metric.isRate {
                if done { lines.append("\(name) " + (value > 0 ? "YES" : "NO")) }
            } else {
                lines.append("\(name) " + String(format: "%.3f", value) + (metric.unit.isEmpty ? "" : " " + metric.unit.uppercased()))
            }
        }
        if let layout = environment.goalConditioned?.goalLayout, observation.count == layout.flatCount {
            // The goal as the agent sees it (relabelled in training, the task's target when watching), and where it is.
            func goal(_ offset: Int) -> String {
                observation[offset..<(offset + layout.goalSize)].map { String(format: "%+.3f", $0) }.joined(separator: " ")
            }
            // A replay restores states, not observations: its achieved goal is in the frame, the desired one holds
            // for the whole episode.
            if case .replay = driver {
                lines.append("GOAL " + goal(layout.desiredOffset))
            } else {
                lines.append("GOAL " + goal(layout.desiredOffset) + "  ACHIEVED " + goal(layout.achievedOffset))
            }
        }
        if !actionMeans.isEmpty {
            // The display's font has no ±: the spread gets its own word.
            let spread = actionSpreads.isEmpty ? "" : "  SPREAD " + actionSpreads.map { String(format: "%.2f", $0) }.joined(separator: " ")
            lines.append("POLICY " + actionMeans.map { String(format: "%+.2f", $0) }.joined(separator: " ") + spread)
        }
        if case .replay = driver { lines.append("REPLAY STEP \(step) / \(replayLength)") }
        return Display(title: title, episode: episode, step: step, reward: lastReward, episodeReturn: episodeReturn,
                       action: action, bars: zip(names, actionValues).map { (label: $0, value: $1) }, barsTitle: barsTitle,
                       chosen: chosen, value: valueEstimate, lines: lines)
    }
}
