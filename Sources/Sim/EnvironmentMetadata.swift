import Foundation

/// What an environment says about itself, as Gymnasium's `metadata` and docstrings do: how to name and play its
/// actions, how fast to show it, and what to measure when evaluating on it. Displays, evaluation, benchmarks and the
/// CLI read this instead of knowing environments by id. The other half of the description is the contract itself:
/// `observationSpace`, `actionSpace` and `renderSize`.
public struct EnvironmentMetadata: Sendable, Equatable {
    /// One name per discrete action, index = action (e.g. ["LEFT", "RIGHT"]); empty for continuous actions.
    public var actionNames: [String]
    /// Keyboard play: which key chooses which discrete action (empty: no keyboard play).
    public var keyboard: [KeyBinding]
    /// Keyboard play on a system that needs an action every step (cart-pole): the last key's action repeats at the
    /// frame rate until another key is pressed. Otherwise every key press is one step (turn-based).
    public var keyboardRepeatsLastAction: Bool
    /// Frames per second to show it at, in windows and videos (Gymnasium's `render_fps`).
    public var renderFPS: Double
    /// Simulation frames per step (decision): highway-env's `simulation_frequency / policy_frequency`. Above 1, the
    /// environment conforms to ``IntermediateFrames`` and displays draw every frame, not only the decisions.
    public var framesPerStep: Int
    /// What an evaluation reports besides return and length, read from `info`.
    public var metrics: [EvaluationMetric]

    public init(actionNames: [String] = [], keyboard: [KeyBinding] = [], keyboardRepeatsLastAction: Bool = false,
                renderFPS: Double = 30, framesPerStep: Int = 1, metrics: [EvaluationMetric] = []) {
        self.actionNames = actionNames
        self.keyboard = keyboard
        self.keyboardRepeatsLastAction = keyboardRepeatsLastAction
        self.renderFPS = renderFPS
        self.framesPerStep = framesPerStep
        self.metrics = metrics
    }

    /// Problems with this description for an environment with `actionSpace` whose `info` holds `infoKeys`.
    public func problems(actionSpace: Space, infoKeys: Set<String>) -> [String] {
        var problems: [String] = []
        switch actionSpace {
        case .discrete(let n):
            if actionNames.count != n { problems.append("metadata names \(actionNames.count) actions, the action space has \(n)") }
            for binding in keyboard where !(0..<n).contains(binding.action) {
                problems.append("key \(binding.key.name) chooses action \(binding.action), outside 0..<\(n)")
            }
        default:
            if !actionNames.isEmpty { problems.append("metadata names actions, but the action space is not discrete") }
            if !keyboard.isEmpty { problems.append("keyboard play needs a discrete action space") }
        }
        if Set(keyboard.map(\.key)).count != keyboard.count { problems.append("a key is bound to two actions") }
        if !(renderFPS.isFinite && renderFPS > 0) { problems.append("render_fps must be a positive number (got \(renderFPS))") }
        if framesPerStep < 1 { problems.append("frames per step must be at least 1 (got \(framesPerStep))") }
        for metric in metrics where !infoKeys.contains(metric.info) {
            problems.append("metric \(metric.name) reads info[\"\(metric.info)\"], which the environment does not report")
        }
        if Set(metrics.map(\.name)).count != metrics.count { problems.append("two metrics share a name") }
        return problems
    }

    /// The keyboard-play keys as one line per binding, e.g. "UP  MOVE UP".
    public var keyboardHelp: [String] {
        keyboard.map { "\($0.key.name)  \($0.help.uppercased())" }
            + (keyboardRepeatsLastAction && !keyboard.isEmpty ? ["(THE LAST KEY'S ACTION REPEATS)"] : [])
    }
}

/// A key on the keyboard, independent of any window library.
public enum Key: Hashable, Sendable {
    case left, right, up, down, space, enter, escape, character(Character)

    /// How help texts name it: "LEFT", "SPACE", "Q".
    public var name: String {
        switch self {
        case .left: return "LEFT"
        case .right: return "RIGHT"
        case .up: return "UP"
        case .down: return "DOWN"
        case .space: return "SPACE"
        case .enter: return "ENTER"
        case .escape: return "ESC"
        case .character(let c): return String(c).uppercased()
        }
    }
}

/// Keyboard play: pressing `key` takes discrete action `action`; `help` says what it does ("lane left").
public struct KeyBinding: Sendable, Equatable {
    public let key: Key
    public let action: Int
    public let help: String

    public init(_ key: Key, _ action: Int, _ help: String) {
        self.key = key
        self.action = action
        self.help = help
    }
}

/// A figure an evaluation reports per episode, read from `info[info]` and summarized as the mean over episodes.
public struct EvaluationMetric: Sendable, Equatable, Codable {
    /// How one episode's value is taken from `info`.
    public enum Aggregation: String, Sendable, Codable {
        /// Right after reset (a property of the start, e.g. the best reachable return).
        case atStart = "at_start"
        /// After the last step (success, crash, final distance).
        case atEnd = "at_end"
        /// The mean over the episode's steps (speed).
        case meanOverSteps = "mean_over_steps"
    }

    /// The name in logs and JSON (`success_rate`, `collision_rate`, `mean_speed`).
    public let name: String
    /// The `info` key it reads.
    public let info: String
    public let aggregation: Aggregation
    /// The unit of the value: "%" for a 0/1 outcome shown as a percentage of episodes, or "m", "m/s", "" …
    public let unit: String
    /// How summaries call it ("success", "collisions", "mean speed").
    public let label: String

    public init(_ name: String, info: String, _ aggregation: Aggregation, unit: String, label: String) {
        self.name = name
        self.info = info
        self.aggregation = aggregation
        self.unit = unit
        self.label = label
    }

    /// A 0/1 outcome per episode, summarized as a rate.
    public var isRate: Bool { unit == "%" }

    /// `value` (a mean over episodes) as a summary phrase: "success 90.0%", "mean speed 24.5100 m/s".
    public func phrase(_ value: Double) -> String { "\(label) " + formatted(value) }

    /// `value` in the metric's unit: "90.0%", "24.5000 m/s".
    public func formatted(_ value: Double) -> String {
        isRate ? String(format: "%.1f%%", value * 100) : String(format: "%.4f", value) + (unit.isEmpty ? "" : " \(unit)")
    }
}

/// An environment whose step advances several simulation frames (``EnvironmentMetadata/framesPerStep`` > 1: the
/// highway, as highway-env's simulation frequency over its policy frequency). A display sets `onIntermediateFrame`
/// to draw the frames between decisions: it is called after every frame of a step but the last, while the
/// environment holds that frame's state (`render` and ``EntityPositions`` see it); the state after the step is drawn
/// as usual. Nil (the default) costs one check per frame and no allocation.
public protocol IntermediateFrames: AnyObject {
    var onIntermediateFrame: (() -> Void)? { get set }
}
