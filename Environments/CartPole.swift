import Foundation
import Sim

/// Cart-pole with exactly Gymnasium's `CartPole-v1` dynamics, constants, thresholds and reward.
///
/// ## Description
/// A pole is hinged to a cart moving along a frictionless track; pushing the cart left or right keeps the pole
/// upright (Barto, Sutton & Anderson, 1983).
///
/// ## Action space: `Discrete(2)`
/// 0 pushes the cart left, 1 right, with a force of 10 N.
///
/// ## Observation space: `Box(4)` (or `Box(2)` with `velocity=false`)
/// | index | observation | unit | min | max |
/// |---|---|---|---|---|
/// | 0 | cart position x | m | −4.8 | 4.8 |
/// | 1 | cart velocity ẋ | m/s | −∞ | ∞ |
/// | 2 | pole angle θ (0 upright) | rad | −0.418 (−24°) | 0.418 (24°) |
/// | 3 | pole angular velocity θ̇ | rad/s | −∞ | ∞ |
/// With `velocity=false` only x and θ are observed (a partially observed task for recurrent policies).
///
/// ## Reward
/// +1 for every step, the terminating one included (`sutton_barto_reward=true`: 0 per step, −1 on failure).
///
/// ## Starting state
/// Every state variable uniform in [−0.05, 0.05], or exactly the `state` option.
///
/// ## Episode end
/// Terminated when |x| > 2.4 m or |θ| > 12°; truncated after `max_steps` (500) by the time limit.
///
/// The dynamics run in double precision, as Gymnasium's do, and observations are rounded to float32.
public final class CartPole: Environment, BatchSteppable {
    public static let gravity = 9.8               // m/s²
    public static let cartMass = 1.0              // kg
    public static let poleMass = 0.1              // kg
    public static let totalMass = cartMass + poleMass
    public static let poleHalfLength = 0.5        // m (Gymnasium's `length`: half the pole's length)
    public static let poleMassLength = poleMass * poleHalfLength
    public static let forceMagnitude = 10.0       // N
    public static let timeStep = 0.02             // s between state updates (`tau`)
    public static let thetaThreshold = 12 * 2 * Double.pi / 360  // rad
    public static let xThreshold = 2.4            // m

    public static let optionSpecs: [OptionSpec] = [
        OptionSpec("state", .reals(count: 4), default: "", "initial state x,xdot,theta,thetadot at every reset (default: uniform ±0.05)"),
        OptionSpec("velocity", .boolean, default: "true", "observe velocities; false leaves x and theta only (masked-velocity cart-pole)"),
        OptionSpec("integrator", .choice(["euler", "semi-implicit"]), default: "euler", "kinematics integrator, as Gymnasium's kinematics_integrator"),
        OptionSpec("sutton_barto_reward", .boolean, default: "false", "0 per step and −1 on failure instead of +1 per step"),
        OptionSpec("max_steps", .integer(1...1_000_000), default: "500", "time limit (truncation)"),
    ]

    /// The registry id.
    public static let id = "cartpole"
    public var id: String { Self.id }
    public let options: ResolvedOptions
    public let observesVelocity: Bool
    public let semiImplicit: Bool
    public let suttonBartoReward: Bool
    public let initialState: [Double]?

    /// Where this copy's state lives: slot `slot` of a block of states, its own (one slot) until a ``Stepper``
    /// gathers the copies it steps into one block.
    private(set) var states = CartPoleStates(count: 1)
    private(set) var slot = 0

    /// (x, ẋ, θ, θ̇) in m, m/s, rad, rad/s.
    public private(set) var state: (x: Double, xDot: Double, theta: Double, thetaDot: Double) {
        get { (states.x[slot], states.xDot[slot], states.theta[slot], states.thetaDot[slot]) }
        set { (states.x[slot], states.xDot[slot], states.theta[slot], states.thetaDot[slot]) = newValue }
    }
    /// Gymnasium's `steps_beyond_terminated`: steps taken after termination (nil before it).
    private var stepsBeyondTerminated: Int? {
        get { states.stepsBeyondTerminated[slot] < 0 ? nil : states.stepsBeyondTerminated[slot] }
        set { states.stepsBeyondTerminated[slot] = newValue ?? -1 }
    }
    private var rng = SeededGenerator(seed: 0)

    public init(options given: [String: String] = [:]) throws {
        options = try ResolvedOptions(given, specs: Self.optionSpecs, environment: "cartpole")
        observesVelocity = options.bool("velocity")
        semiImplicit = options.string("integrator") == "semi-implicit"
        suttonBartoReward = options.bool("sutton_barto_reward")
        initialState = options.reals("state")
    }

    /// Copies with the same dynamics and reward step together (``Stepper``).
    public static func batchStepper(for copies: [CartPole]) -> (any BatchStepper)? {
        guard let first = copies.first, copies.allSatisfy({
            ($0.semiImplicit, $0.suttonBartoReward, $0.observesVelocity) == (first.semiImplicit, first.suttonBartoReward, first.observesVelocity)
        }) else { return nil }
        return Stepper(copies)
    }

    /// Moves this copy's state (and step count beyond termination) to slot `slot` of `block`.
    func move(to block: CartPoleStates, slot newSlot: Int) {
        let (current, beyond) = (state, stepsBeyondTerminated)
        states.isCurrent = false  // a stepper still holding the old block must not step it
        (states, slot) = (block, newSlot)
        (state, stepsBeyondTerminated) = (current, beyond)
    }

    public var observationSpace: Space {
        let high: [Float] = observesVelocity
            ? [Float(Self.xThreshold * 2), .greatestFiniteMagnitude, Float(Self.thetaThreshold * 2), .greatestFiniteMagnitude]
            : [Float(Self.xThreshold * 2), Float(Self.thetaThreshold * 2)]
        return .box(low: high.map { -$0 }, high: high, shape: [high.count])
    }
    public var actionSpace: Space { .discrete(2) }

    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) {
        if let seed { rng = SeededGenerator(seed: seed) }
        if let s = initialState {
            state = (s[0], s[1], s[2], s[3])
        } else {
            state = (uniform(), uniform(), uniform(), uniform())
        }
        stepsBeyondTerminated = nil
        writeObservation(observation)
    }

    private func uniform() -> Double { -0.05 + 0.1 * rng.nextDouble() }

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        var lane = (x: state.x, xDot: state.xDot, theta: state.theta, thetaDot: state.thetaDot)
        Self.advance(&lane, force: force(action), cos: cos(lane.theta), sin: sin(lane.theta), semiImplicit: semiImplicit)
        state = lane
        return finishStep(observation)
    }

    /// The force of a discrete action (N).
    @inline(__always) private func force(_ action: UnsafePointer<Float>) -> Double {
        precondition(action[0] == 0 || action[0] == 1, "cartpole: action must be 0 or 1, got \(action[0])")
        return action[0] == 1 ? Self.forceMagnitude : -Self.forceMagnitude
    }

    /// Gymnasium's equations of motion and integrator over one `timeStep`, on one copy (`Double`) or on lanes of
    /// copies (`SIMD4<Double>`): the same operations in the same order, so every lane equals the scalar step bitwise.
    /// `cos` and `sin` are of `state.theta` (the C library's, per lane).
    @inline(__always)
    static func advance<V: DoubleLanes>(_ state: inout (x: V, xDot: V, theta: V, thetaDot: V), force: V, cos cosTheta: V,
                                        sin sinTheta: V, semiImplicit: Bool) {
        let poleMassLength = V(repeating: Self.poleMassLength), totalMass = V(repeating: Self.totalMass)
        let tau = V(repeating: Self.timeStep)
        let thetaDotSquared = state.thetaDot * state.thetaDot
        let temp = (force + poleMassLength * thetaDotSquared * sinTheta) / totalMass
        let thetaAcc = (V(repeating: Self.gravity) * sinTheta - cosTheta * temp)
            / (V(repeating: Self.poleHalfLength)
               * (V(repeating: 4.0 / 3.0) - V(repeating: Self.poleMass) * (cosTheta * cosTheta) / totalMass))
        let xAcc = temp - poleMassLength * thetaAcc * cosTheta / totalMass
        if semiImplicit {
            state.xDot = state.xDot + tau * xAcc
            state.x = state.x + tau * state.xDot
            state.thetaDot = state.thetaDot + tau * thetaAcc
            state.theta = state.theta + tau * state.thetaDot
        } else {
            state.x = state.x + tau * state.xDot
            state.xDot = state.xDot + tau * xAcc
            state.theta = state.theta + tau * state.thetaDot
            state.thetaDot = state.thetaDot + tau * thetaAcc
        }
    }

    /// After the state advanced: termination, reward and the observation.
    @inline(__always) func finishStep(_ observation: UnsafeMutablePointer<Float>) -> StepResult {
        let (x, theta) = (state.x, state.theta)
        let terminated = x < -Self.xThreshold || x > Self.xThreshold || theta < -Self.thetaThreshold || theta > Self.thetaThreshold
        let reward: Float
        if !terminated {
            reward = suttonBartoReward ? 0 : 1
        } else if let beyond = stepsBeyondTerminated {
            stepsBeyondTerminated = beyond + 1
            reward = suttonBartoReward ? -1 : 0
        } else {
            stepsBeyondTerminated = 0
            reward = suttonBartoReward ? -1 : 1
        }
        writeObservation(observation)
        return StepResult(reward: reward, terminated: terminated)
    }

    private func writeObservation(_ observation: UnsafeMutablePointer<Float>) {
        if observesVelocity {
            observation[0] = Float(state.x); observation[1] = Float(state.xDot)
            observation[2] = Float(state.theta); observation[3] = Float(state.thetaDot)
        } else {
            observation[0] = Float(state.x); observation[1] = Float(state.theta)
        }
    }

    public var stateChecksum: UInt64 {
        var hasher = StateHasher()
        hasher.combine(state.x); hasher.combine(state.xDot); hasher.combine(state.theta); hasher.combine(state.thetaDot)
        hasher.combine(stepsBeyondTerminated ?? -1)
        hasher.combine(rng)
        return hasher.value
    }

    public func saveState() -> [UInt64] {
        [state.x.bitPattern, state.xDot.bitPattern, state.theta.bitPattern, state.thetaDot.bitPattern,
         (stepsBeyondTerminated ?? -1).stateWord] + rng.stateWords
    }

    public func restoreState(_ words: [UInt64]) throws {
        var reader = StateReader(words, environment: id)
        let restored = (x: try reader.finiteDouble(), xDot: try reader.finiteDouble(), theta: try reader.finiteDouble(), thetaDot: try reader.finiteDouble())
        let beyond = try reader.int()
        let generator = try reader.generator()
        try reader.finish()
        state = restored
        stepsBeyondTerminated = beyond < 0 ? nil : beyond
        rng = generator
    }

    public var infoKeys: [String] { ["x", "x_dot", "theta", "theta_dot"] }

    public func writeInfo(into values: UnsafeMutablePointer<Double>) {
        (values[0], values[1], values[2], values[3]) = (state.x, state.xDot, state.theta, state.thetaDot)
    }

    public var renderSize: (width: Int, height: Int) { (600, 400) }

    /// Shown in real time (one 0.02 s step per frame, Gymnasium's render_fps 50); keyboard play pushes with the
    /// arrows and keeps pushing with the last one.
    public var metadata: EnvironmentMetadata {
        EnvironmentMetadata(actionNames: ["LEFT", "RIGHT"],
                            keyboard: [KeyBinding(.left, 0, "push left"), KeyBinding(.right, 1, "push right")],
                            keyboardRepeatsLastAction: true, renderFPS: 1 / Self.timeStep)
    }

    public func render(into canvas: inout Canvas) {
        canvas.fill(.white)
        let scale = Double(canvas.width) / (Self.xThreshold * 2)  // pixels per metre
        let trackY = Double(canvas.height) * 0.65
        canvas.fillRect(x: 0, y: Int(trackY), width: canvas.width, height: 1, .black)
        let cartX = state.x * scale + Double(canvas.width) / 2
        let cartWidth = 50.0, cartHeight = 30.0
        canvas.fillRect(x: Int(cartX - cartWidth / 2), y: Int(trackY - cartHeight / 2), width: Int(cartWidth),
                        height: Int(cartHeight), .black)
        let poleLength = scale * 2 * Self.poleHalfLength, axleY = trackY - cartHeight / 4
        let tip = (x: cartX + sin(state.theta) * poleLength, y: axleY - cos(state.theta) * poleLength)
        canvas.line(from: (cartX, axleY), to: tip, thickness: 10, Color(202, 152, 101))
        canvas.fillCircle(centerX: cartX, centerY: axleY, radius: 5, Color(129, 132, 203))
    }
}
