import Foundation
import Sim

/// The inverted pendulum swing-up with exactly Gymnasium's `Pendulum-v1` dynamics, constants and reward.
///
/// ## Description
/// A rod hangs from a frictionless pivot; a torque at the pivot must swing it up and hold it upright. The torque is
/// too weak to lift the rod straight up from hanging, so the policy has to pump energy in by swinging.
///
/// ## Action space: `Box(-2, 2, shape: [1])`
/// The torque u at the pivot (N·m), positive counter-clockwise; values outside ±2 are clipped.
///
/// ## Observation space: `Box(3)`
/// | index | observation | min | max |
/// |---|---|---|---|
/// | 0 | cos θ (θ = 0 upright) | −1 | 1 |
/// | 1 | sin θ | −1 | 1 |
/// | 2 | angular velocity θ̇ (rad/s) | −8 | 8 |
///
/// ## Reward
/// −(θₙ² + 0.1 θ̇² + 0.001 u²), θₙ being θ wrapped into [−π, π): 0 at best, about −16.27 at worst.
///
/// ## Starting state
/// θ uniform in [−π, π], θ̇ uniform in [−1, 1] (from Dojo's seeded generator), or exactly the `state` option.
///
/// ## Episode end
/// Never terminated; truncated after `max_steps` (200) by the time limit.
///
/// The dynamics run in double precision and mix in float32 exactly where Gymnasium's NumPy arithmetic does (the
/// clipped action is float32, so the torque and control-cost terms are float32 products); observations are float32.
public final class Pendulum: Environment, BatchSteppable {
    public static let maxSpeed = 8.0          // rad/s, θ̇ is clipped to ±maxSpeed
    public static let maxTorque: Float = 2    // N·m
    public static let timeStep = 0.05         // s (`dt`)
    public static let mass = 1.0              // kg (`m`)
    public static let length = 1.0           // m (`l`)

    public static let optionSpecs: [OptionSpec] = [
        OptionSpec("g", .real(0...1000), default: "10.0", "gravitational acceleration (m/s²), Gymnasium's g"),
        OptionSpec("state", .reals(count: 2), default: "", "initial state theta,thetadot at every reset (default: theta uniform ±π, thetadot uniform ±1)"),
        OptionSpec("max_steps", .integer(1...1_000_000), default: "200", "time limit (truncation)"),
    ]

    /// The registry id.
    public static let id = "pendulum"
    public var id: String { Self.id }
    public let options: ResolvedOptions
    public let gravity: Double
    public let initialState: (theta: Double, thetaDot: Double)?

    /// θ (rad, 0 upright, not wrapped) and θ̇ (rad/s), Gymnasium's `state`.
    public private(set) var state: (theta: Double, thetaDot: Double) = (0, 0)
    /// The clipped torque of the last step; NaN before the first step of an episode (Gymnasium's `last_u = None`).
    public private(set) var lastTorque: Float = .nan
    private var rng = SeededGenerator(seed: 0)

    public init(options given: [String: String] = [:]) throws {
        options = try ResolvedOptions(given, specs: Self.optionSpecs, environment: Self.id)
        gravity = options.double("g")
        if let s = options.reals("state") {
            guard abs(s[1]) <= Self.maxSpeed else {
                throw OptionError.invalidValue(environment: Self.id, name: "state", value: options.string("state") ?? "",
                                               problem: "thetadot must be within ±\(Self.maxSpeed) rad/s (the observation bound)")
            }
            initialState = (s[0], s[1])
        } else {
            initialState = nil
        }
    }

    public var observationSpace: Space {
        .box(low: [-1, -1, -Float(Self.maxSpeed)], high: [1, 1, Float(Self.maxSpeed)], shape: [3])
    }
    public var actionSpace: Space { .box(low: -Self.maxTorque, high: Self.maxTorque, shape: [1]) }

    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) {
        if let seed { rng = SeededGenerator(seed: seed) }
        if let initialState {
            state = initialState
        } else {
            let theta = -Double.pi + 2 * Double.pi * rng.nextDouble()
            let thetaDot = -1 + 2 * rng.nextDouble()
            state = (theta, thetaDot)
        }
        lastTorque = .nan
        writeObservation(observation)
    }

    /// θ wrapped into [−π, π) as Gymnasium's `angle_normalize`: NumPy's floored remainder (fmod, moved into the
    /// divisor's sign), so the result is bitwise the same.
    @inline(__always) public static func normalizedAngle(_ theta: Double) -> Double {
        let period = 2 * Double.pi
        var remainder = (theta + Double.pi).truncatingRemainder(dividingBy: period)
        if remainder == 0 {
            remainder = 0  // NumPy gives +0 (the divisor's sign)
        } else if remainder < 0 {
            remainder += period
        }
        return remainder - Double.pi
    }

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        precondition(action[0].isFinite, "pendulum: the torque must be finite, got \(action[0])")
        let u = max(-Self.maxTorque, min(Self.maxTorque, action[0]))  // float32, as np.clip of a float32 action
        lastTorque = u
        let (theta, thetaDot) = state
        // NumPy promotes `0.001 * u**2` and `3.0 * u` to float32 (u is a float32 scalar), the rest is float64.
        let angle = Self.normalizedAngle(theta)
        let controlCost = Double(Float(0.001 as Double) * (u * u))
        let cost = angle * angle + 0.1 * (thetaDot * thetaDot) + controlCost
        let torqueTerm = Double(Float(3.0 / (Self.mass * Self.length * Self.length)) * u)
        let acceleration = 3 * gravity / (2 * Self.length) * sin(theta) + torqueTerm
        let newThetaDot = max(-Self.maxSpeed, min(Self.maxSpeed, thetaDot + acceleration * Self.timeStep))
        state = (theta + newThetaDot * Self.timeStep, newThetaDot)
        writeObservation(observation)
        return StepResult(reward: Float(-cost), terminated: false)
    }

    /// Copies are stepped in one statically dispatched loop, without the dynamic calls of a type-erased vector. No
    /// SIMD lanes: a step is four C-library calls (fmod, sin, cos, sin) around a dozen operations, and those calls have
    /// no vector form that rounds bitwise as the C library does.
    public static func batchStepper(for copies: [Pendulum]) -> (any BatchStepper)? { Stepper(copies) }

    final class Stepper: BatchStepper {
        private let copies: [Pendulum]
        init(_ copies: [Pendulum]) { self.copies = copies }

        func step(_ range: Range<Int>, actions: UnsafePointer<Float>, observations: UnsafeMutablePointer<Float>,
                  results: UnsafeMutablePointer<StepResult>) {
            copies.withUnsafeBufferPointer { copies in
                for i in range {
                    results[i] = Unmanaged.passUnretained(copies[i])._withUnsafeGuaranteedRef { copy in  // borrowed: no reference counting
                        copy.step(actions + i, observation: observations + 3 * i)
                    }
                }
            }
        }
    }

    private func writeObservation(_ observation: UnsafeMutablePointer<Float>) {
        observation[0] = Float(cos(state.theta))
        observation[1] = Float(sin(state.theta))
        observation[2] = Float(state.thetaDot)
    }

    public var stateChecksum: UInt64 {
        var hasher = StateHasher()
        hasher.combine(state.theta); hasher.combine(state.thetaDot); hasher.combine(lastTorque)
        hasher.combine(rng)
        return hasher.value
    }

    public func saveState() -> [UInt64] {
        [state.theta.bitPattern, state.thetaDot.bitPattern, UInt64(lastTorque.bitPattern)] + rng.stateWords
    }

    public func restoreState(_ words: [UInt64]) throws {
        var reader = StateReader(words, environment: id)
        let theta = try reader.finiteDouble(), thetaDot = try reader.finiteDouble()
        let torqueWord = try reader.word()
        let generator = try reader.generator()
        try reader.finish()
        guard abs(thetaDot) <= Self.maxSpeed else {
            throw SimulationError(environment: id, message: "saved angular velocity \(thetaDot) is beyond ±\(Self.maxSpeed) rad/s")
        }
        guard torqueWord <= UInt64(UInt32.max) else {
            throw SimulationError(environment: id, message: "saved torque word \(torqueWord) is not a float")
        }
        let torque = Float(bitPattern: UInt32(torqueWord))
        guard torque.isNaN || abs(torque) <= Self.maxTorque else {
            throw SimulationError(environment: id, message: "saved torque \(torque) is beyond ±\(Self.maxTorque) N·m")
        }
        state = (theta, thetaDot)
        lastTorque = torque.isNaN ? .nan : torque
        rng = generator
    }

    /// θ and θ̇ as simulated, the last clipped torque (absent right after reset) and |θ| wrapped into [0, π] — the
    /// distance from upright that evaluations report at the end of an episode.
    public var infoKeys: [String] { ["theta", "theta_dot", "torque", "angle_error"] }

    public func writeInfo(into values: UnsafeMutablePointer<Double>) {
        values[0] = state.theta
        values[1] = state.thetaDot
        values[2] = Double(lastTorque)
        values[3] = abs(Self.normalizedAngle(state.theta))
    }

    public var renderSize: (width: Int, height: Int) { (500, 500) }

    /// Shown at Gymnasium's render_fps 30 (a step is 0.05 s, so 1.5× real time). No keyboard play: keyboard play
    /// needs discrete actions and this one is a continuous torque. Evaluations report how far from upright the rod ends.
    public var metadata: EnvironmentMetadata {
        EnvironmentMetadata(renderFPS: 30,
                            metrics: [EvaluationMetric("final_angle_error", info: "angle_error", .atEnd, unit: "rad",
                                                       label: "final angle error")])
    }

    /// The rod from the pivot at the centre (θ = 0 straight up, positive θ counter-clockwise), the pivot, and the
    /// last torque as an arc around the pivot whose sweep grows with |u| and whose head points the way it turns.
    public func render(into canvas: inout Canvas) {
        canvas.fill(.white)
        let cx = Double(canvas.width) / 2, cy = Double(canvas.height) / 2
        let scale = Double(min(canvas.width, canvas.height)) / 4.4  // pixels per metre: ±2.2 m shown, as Gymnasium
        let rodColor = Color(204, 77, 77), rodWidth = 0.2 * scale
        let tip = (x: cx - sin(state.theta) * Self.length * scale, y: cy - cos(state.theta) * Self.length * scale)
        canvas.line(from: (cx, cy), to: tip, thickness: rodWidth, rodColor)
        canvas.fillCircle(centerX: cx, centerY: cy, radius: rodWidth / 2, rodColor)
        canvas.fillCircle(centerX: tip.x, centerY: tip.y, radius: rodWidth / 2, rodColor)
        if lastTorque.isFinite && lastTorque != 0 {
            // Screen angles run clockwise (y points down), so a counter-clockwise torque sweeps negative angles.
            let radius = 0.35 * scale, direction = lastTorque > 0 ? -1.0 : 1.0
            let sweep = 1.5 * Double.pi * Double(abs(lastTorque) / Self.maxTorque)
            let start = Double.pi / 2  // below the pivot
            let segments = 24
            func point(_ angle: Double) -> (x: Double, y: Double) { (cx + radius * cos(angle), cy + radius * sin(angle)) }
            for k in 0..<segments {
                let a = start + direction * sweep * Double(k) / Double(segments)
                let b = start + direction * sweep * Double(k + 1) / Double(segments)
                canvas.line(from: point(a), to: point(b), thickness: 4, .black)
            }
            let end = start + direction * sweep, head = point(end)
            let tangent = (x: -sin(end) * direction, y: cos(end) * direction)  // the way the arc runs at its end
            let normal = (x: cos(end), y: sin(end)), size = 12.0
            canvas.fillPolygon([(head.x + tangent.x * size, head.y + tangent.y * size),
                                (head.x - tangent.x * size * 0.3 + normal.x * size * 0.6, head.y - tangent.y * size * 0.3 + normal.y * size * 0.6),
                                (head.x - tangent.x * size * 0.3 - normal.x * size * 0.6, head.y - tangent.y * size * 0.3 - normal.y * size * 0.6)],
                               .black)
        }
        canvas.fillCircle(centerX: cx, centerY: cy, radius: 0.05 * scale, .black)
        canvas.text(String(format: "TORQUE %+.2f", lastTorque.isNaN ? 0 : Double(lastTorque)), x: 6, y: 6, .black)
    }
}
