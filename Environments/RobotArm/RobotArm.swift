import Foundation
import Sim

/// A planar robot arm of revolute joints on a table, in the manner of Gymnasium's Reacher and Pusher.
///
/// ## Description
/// `links` uniform rods (default 2 × 0.1 m, 0.1 kg) joined by motors with viscous damping and torque limits (0.5 N·m:
/// small actions already move the arm briskly, so Reacher's control cost leaves reaching worth it); joints
/// after the first stop at ±`joint_limit` (an inelastic stop). The dynamics (mass matrix, Coriolis, centrifugal and
/// optional gravity terms, see ``ArmDynamics``) are integrated with classical Runge–Kutta (RK4), `substeps` steps of
/// 0.02 s / `substeps` per control step: the mass matrix depends on the angles, so the Hamiltonian is not separable and
/// semi-implicit Euler loses its energy guarantee; RK4 keeps the drift of an undamped, unforced arm below 10⁻⁶ over
/// 10,000 steps at the default step, for four dynamics evaluations per substep.
/// **reach**: bring the fingertip to a target drawn uniformly in the workspace. **push**: push a disc (radius 2 cm,
/// sliding with friction) onto a target with the fingertip (radius 1 cm); contact moves the disc out of the
/// fingertip along the contact normal and gives it at least the fingertip's normal speed (the arm is far heavier).
///
/// ## Action space
/// `Box(−1, 1, [links])` torques as fractions of `torque_limit`, or with `action=discrete` `Discrete(3^links)`: each
/// joint −1, 0 or +1 (the joint-0 digit least significant).
///
/// ## Observation space (`Box`)
/// reach: cos q, sin q (per joint), target x, y (m), q̇ (rad/s), fingertip − target (m) — 3·links + 4 values.
/// push: cos q, sin q, q̇, fingertip − disc, disc − target, disc velocity (m/s), target — 3·links + 8 values.
///
/// ## Goal-conditioned tasks (`goal=true`, Gymnasium-Robotics' `GoalEnv`)
/// The observation is `Dict(achieved_goal, desired_goal, observation)`, flat in that key order: `achieved_goal` the
/// fingertip (reach) or disc (push) x, y; `desired_goal` the target x, y; `observation` cos q, sin q, q̇ (reach,
/// 3·links values) and for push also fingertip − disc and the disc's velocity (3·links + 4). The reward depends on the
/// goals alone (``computeReward(achieved:desired:count:into:)``, used by `step` on the goals it writes, so the two
/// agree bit for bit): `reward=sparse` (the default) −1 while ‖achieved − desired‖ > `success_distance`, else 0;
/// `reward=dense` −‖achieved − desired‖. No control cost and no shaping term (control_cost is refused). The
/// dynamics, the draws at reset and `info` are those of the task without `goal`.
///
/// ## Reward
/// reach: −‖fingertip − target‖ − `control_cost`·‖a‖² (Reacher's weights 1 and 1). push: −‖disc − target‖
/// − 0.5‖fingertip − disc‖ − `control_cost`·‖a‖² (Pusher's weights; control 0.1).
///
/// ## Episode end
/// Never terminated by the task; truncated after `max_steps` (reach 50, push 100). A diverged simulation (non-finite
/// state, or a joint faster than 1,000 rad/s) terminates the episode and sets ``failure``. `info["success"]` is 1 while
/// the fingertip (reach) or disc (push) is within `success_distance` of the target.
public final class RobotArm: GoalConditionedEnvironment {
    public static let optionSpecs: [OptionSpec] = [
        OptionSpec("task", .choice(["reach", "push"]), default: "reach", "bring the fingertip to a target, or push a disc onto it"),
        OptionSpec("links", .integer(1...7), default: "2", "number of links"),
        OptionSpec("link_lengths", .realList, default: "", "length of each link in m (default 0.1 each)"),
        OptionSpec("link_masses", .realList, default: "", "mass of each link in kg (default 0.1 each)"),
        OptionSpec("damping", .real(0...10), default: "0.01", "joint damping, N·m·s/rad"),
        OptionSpec("torque_limit", .real(0.000001...1000), default: "0.5", "torque at action ±1, N·m"),
        OptionSpec("joint_limit", .real(0...Double.pi), default: "3", "joints after the first stop at ±this (rad); pi: no stops"),
        OptionSpec("gravity", .real(0...100), default: "0", "gravity along −y, m/s² (0: a table-top arm)"),
        OptionSpec("substeps", .integer(1...100), default: "4", "RK4 steps per 0.02 s control step"),
        OptionSpec("action", .choice(["continuous", "discrete"]), default: "continuous", "torques, or −1/0/+1 per joint for DQN"),
        OptionSpec("control_cost", .real(0...100), default: "", "weight of ‖a‖² in the reward (reach 1, push 0.1)"),
        OptionSpec("success_distance", .real(0.0001...1), default: "", "success radius in m (reach 0.02, push 0.03)"),
        OptionSpec("max_steps", .integer(1...100_000), default: "", "time limit in control steps (reach 50, push 100)"),
        OptionSpec("joints", .realList, default: "", "initial joint angles, rad, at every reset (default: uniform ±0.1)"),
        OptionSpec("velocities", .realList, default: "", "initial joint velocities, rad/s (default: uniform ±0.005)"),
        OptionSpec("target", .reals(count: 2), default: "", "target x,y in m at every reset (default: random in the workspace)"),
        OptionSpec("disc", .reals(count: 2), default: "", "push: disc x,y in m at every reset (default: random)"),
        OptionSpec("goal", .boolean, default: "false",
                   "goal-conditioned: Dict observation (achieved_goal, desired_goal, observation), reward from the goals alone"),
        OptionSpec("reward", .choice(["sparse", "dense"]), default: "",
                   "goal=true: sparse (−1 beyond success_distance, else 0; the default) or dense (−distance)"),
    ]

    public static let controlTimeStep = 0.02          // s
    public static let fingertipRadius = 0.01, discRadius = 0.02  // m
    static let discFrictionDeceleration = 0.2 * 9.81  // m/s², Coulomb friction μ = 0.2 on the table
    static let divergenceSpeed = 1000.0               // rad/s
    static let trailLength = 16

    public enum Task: String, Sendable { case reach, push }

    /// The registry id.
    public static let id = "arm"
    public var id: String { Self.id }
    public let options: ResolvedOptions
    public let task: Task
    public let links: Int
    public let torqueLimit: Double
    public let jointLimit: Double
    public let substeps: Int
    public let discreteActions: Bool
    public let controlCost: Double
    public let successDistance: Double
    public let maxSteps: Int
    /// `goal=true`: the observation is a goal dictionary and the reward ``computeReward(achieved:desired:count:into:)``.
    public let isGoalTask: Bool
    /// Goal tasks: −1/0 rewards (else −distance).
    public let sparseReward: Bool
    /// Goal tasks: where the goals lie in the observation.
    private let layout: GoalLayout?
    let observationSize: Int
    /// Discrete actions: 3^links.
    let actionCount: Int
    let dynamics: ArmDynamics
    let initialJoints: [Double]?, initialVelocities: [Double]?, fixedTarget: [Double]?, fixedDisc: [Double]?

    /// Why the simulation stopped, when it diverged (the episode then ends as terminated).
    public private(set) var failure: SimulationError?
    public private(set) var target = (x: 0.0, y: 0.0)
    public private(set) var disc = (x: 0.0, y: 0.0, vx: 0.0, vy: 0.0)
    private var rng = SeededGenerator(seed: 0)
    /// The last fingertip positions, a ring of `trailLength` (render only; not part of the state).
    private var trail = [(x: Double, y: Double)](repeating: (0, 0), count: trailLength)
    private var trailCount = 0, trailNext = 0
    private var lastControlCost = 0.0

    /// One arena for the state and RK4 scratch: q, q̇, torque, a1…a4, v2…v4, trial q and q̇ (links values each).
    private let arena: UnsafeMutablePointer<Double>
    private var q: UnsafeMutablePointer<Double> { arena }
    private var qd: UnsafeMutablePointer<Double> { arena + links }
    private var torque: UnsafeMutablePointer<Double> { arena + 2 * links }
    private func slot(_ k: Int) -> UnsafeMutablePointer<Double> { arena + (3 + k) * links }

    public init(options given: [String: String] = [:]) throws {
        let options = try ResolvedOptions(given, specs: Self.optionSpecs, environment: "arm")
        self.options = options
        let task = Task(rawValue: options.string("task")!)!
        self.task = task
        let links = options.int("links")
        self.links = links
        /// A per-link option's values, or `value` for every link.
        func list(_ name: String, default value: Double) throws -> [Double] {
            guard let values = options.reals(name) else { return Array(repeating: value, count: links) }
            guard values.count == links else {
                throw OptionError.invalidValue(environment: "arm", name: name, value: options.string(name)!,
                                               problem: "expected \(links) numbers, one per link (links=\(links))")
            }
            return values
        }
        let lengths = try list("link_lengths", default: 0.1), masses = try list("link_masses", default: 0.1)
        if let bad = (lengths + masses).first(where: { $0 <= 0 }) {
            throw OptionError.invalidValue(environment: "arm", name: lengths.contains(bad) ? "link_lengths" : "link_masses",
                                           value: "\(bad)", problem: "link lengths and masses must be positive")
        }
        dynamics = ArmDynamics(lengths: lengths, masses: masses, damping: options.double("damping"), gravity: options.double("gravity"))
        torqueLimit = options.double("torque_limit")
        jointLimit = options.double("joint_limit")
        substeps = options.int("substeps")
        discreteActions = options.string("action") == "discrete"
        controlCost = options.string("control_cost").flatMap(Double.init) ?? (task == .reach ? 1 : 0.1)
        successDistance = options.string("success_distance").flatMap(Double.init) ?? (task == .reach ? 0.02 : 0.03)
        maxSteps = options.string("max_steps").flatMap(Int.init) ?? (task == .reach ? 50 : 100)
        initialJoints = try options.reals("joints").map { _ in try list("joints", default: 0) }
        initialVelocities = try options.reals("velocities").map { _ in try list("velocities", default: 0) }
        fixedTarget = options.reals("target")
        fixedDisc = options.reals("disc")
        isGoalTask = options.bool("goal")
        if let reward = options.string("reward"), !reward.isEmpty, !isGoalTask {
            throw OptionError.invalidValue(environment: "arm", name: "reward", value: reward,
                                           problem: "only goal tasks take a reward option; add goal=true or drop this option")
        }
        sparseReward = options.string("reward") != "dense"
        if isGoalTask, let cost = options.string("control_cost"), !cost.isEmpty {
            throw OptionError.invalidValue(environment: "arm", name: "control_cost", value: cost,
                                           problem: "a goal task's reward depends on the goals alone; drop control_cost or goal=true")
        }
        if task == .reach, fixedDisc != nil {
            throw OptionError.invalidValue(environment: "arm", name: "disc", value: options.string("disc")!,
                                           problem: "only the push task has a disc; add task=push or drop this option")
        }
        arena = .allocate(capacity: 12 * links)
        layout = isGoalTask ? GoalLayout(space: Self.goalSpace(task: task, links: links)) : nil
        observationSize = layout?.flatCount ?? 3 * links + (task == .reach ? 4 : 8)
        actionCount = (0..<links).reduce(1) { product, _ in product * 3 }
        arena.initialize(repeating: 0, count: 12 * links)
        var observation = [Float](repeating: 0, count: observationSpace.flatCount)
        reset(seed: 0, observation: &observation)
    }

    deinit { arena.deallocate() }

    public var observationSpace: Space {
        isGoalTask ? Self.goalSpace(task: task, links: links) : .box(low: -.infinity, high: .infinity, shape: [observationSize])
    }

    /// The goal dictionary: fingertip or disc x, y; target x, y; the arm's state (and the disc's, relative to the
    /// fingertip, with its velocity).
    private static func goalSpace(task: Task, links: Int) -> Space {
        func box(_ count: Int) -> Space { .box(low: -.infinity, high: .infinity, shape: [count]) }
        return .dictionary(["achieved_goal": box(2), "desired_goal": box(2), "observation": box(3 * links + (task == .reach ? 0 : 4))])
    }

    // MARK: Goals

    /// The environment as goal-conditioned when built with `goal=true`.
    public var goalConditioned: (any GoalConditionedEnvironment)? { isGoalTask ? self : nil }

    /// Achieved goal at 0, desired goal at 2, the rest from 4. Only for `goal=true` (ask ``goalConditioned``).
    public var goalLayout: GoalLayout {
        guard let layout else { preconditionFailure("arm: goalLayout of an arm built without goal=true; ask goalConditioned first") }
        return layout
    }

    /// The goal tasks' reward of each (achieved, desired) pair of x, y goals: the distance in double precision from
    /// the float goals, then −1 beyond `success_distance` and 0 within (sparse), or −distance (dense; +0 at 0).
    public func computeReward(achieved: UnsafePointer<Float>, desired: UnsafePointer<Float>, count: Int,
                              into rewards: UnsafeMutablePointer<Float>) {
        precondition(isGoalTask, "arm: computeReward of an arm built without goal=true")
        for i in 0..<count {
            let distance = hypot(Double(achieved[2 * i]) - Double(desired[2 * i]), Double(achieved[2 * i + 1]) - Double(desired[2 * i + 1]))
            rewards[i] = sparseReward ? (distance > successDistance ? -1 : 0) : Float(0 - distance)
        }
    }
    public var actionSpace: Space {
        discreteActions ? .discrete(actionCount) : .box(low: -1, high: 1, shape: [links])
    }

    /// Joint angles (rad) and velocities (rad/s).
    public var joints: [Double] { Array(UnsafeBufferPointer(start: q, count: links)) }
    public var jointVelocities: [Double] { Array(UnsafeBufferPointer(start: qd, count: links)) }
    public var fingertip: (x: Double, y: Double) { dynamics.fingertip(q) }
    /// Kinetic plus potential energy (J) and angular momentum about the base (kg·m²/s).
    public var energy: Double { dynamics.energy(q, qd) }
    public var angularMomentum: Double { dynamics.angularMomentum(q, qd) }

    // MARK: Reset

    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) {
        if let seed { rng = SeededGenerator(seed: seed) }
        for i in 0..<links {
            q[i] = initialJoints?[i] ?? uniform(-0.1, 0.1)
            qd[i] = initialVelocities?[i] ?? uniform(-0.005, 0.005)
        }
        let reach = dynamics.reach
        switch task {
        case .reach:
            target = pointInAnnulus(0, 0.95 * reach)
            if let t = fixedTarget { target = (t[0], t[1]) }
        case .push:
            let tip = fingertip
            if let d = fixedDisc {
                disc = (d[0], d[1], 0, 0)
            } else {  // a random disc clear of the fingertip
                repeat {
                    let p = pointInAnnulus(0.3 * reach, 0.8 * reach)
                    disc = (p.x, p.y, 0, 0)
                } while hypot(disc.x - tip.x, disc.y - tip.y) < Self.fingertipRadius + Self.discRadius + 0.02
            }
            if let t = fixedTarget {
                target = (t[0], t[1])
            } else {  // a random target at least 5 cm from the disc
                repeat { target = pointInAnnulus(0.3 * reach, 0.8 * reach) } while hypot(target.x - disc.x, target.y - disc.y) < 0.05
            }
        }
        failure = nil
        lastControlCost = 0
        trailCount = 0
        writeObservation(observation)
    }

    private func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * rng.nextDouble() }

    /// A point uniform by area in the ring between radii `inner` and `outer` around the base.
    private func pointInAnnulus(_ inner: Double, _ outer: Double) -> (x: Double, y: Double) {
        let r = (inner * inner + (outer * outer - inner * inner) * rng.nextDouble()).squareRoot()
        let angle = 2 * Double.pi * rng.nextDouble()
        return (r * cos(angle), r * sin(angle))
    }

    // MARK: Step

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        if failure != nil {
            observation.update(repeating: 0, count: observationSize)
            return StepResult(reward: 0, terminated: true)
        }
        var squaredAction = 0.0
        if discreteActions {
            var code = Int(action[0])
            precondition(Float(code) == action[0] && code >= 0 && code < actionCount,
                         "arm: a discrete action is 0..<3^links, got \(action[0])")
            for i in 0..<links {
                let level = Double(code % 3 - 1)
                code /= 3
                torque[i] = level * torqueLimit
                squaredAction += level * level
            }
        } else {
            for i in 0..<links {
                precondition(action[i].isFinite, "arm: actions must be finite, got \(action[i]) for joint \(i)")
                let a = Double(max(-1, min(1, action[i])))
                torque[i] = a * torqueLimit
                squaredAction += a * a
            }
        }
        lastControlCost = controlCost * squaredAction
        let dt = Self.controlTimeStep / Double(substeps)
        for _ in 0..<substeps {
            let tipBefore = fingertip
            integrate(dt: dt)
            if task == .push { moveDisc(dt: dt, tipBefore: tipBefore) }
        }
        if let problem = divergence() {
            failure = SimulationError(environment: id, message: problem)
            observation.update(repeating: 0, count: observationSize)
            return StepResult(reward: 0, terminated: true)
        }
        let tip = fingertip
        trail[trailNext] = tip
        trailNext = (trailNext + 1) % Self.trailLength
        trailCount = min(trailCount + 1, Self.trailLength)
        writeObservation(observation)
        if let layout {  // from the goals just written, so computeReward of them agrees exactly
            var reward: Float = 0
            computeReward(achieved: observation + layout.achievedOffset, desired: observation + layout.desiredOffset, count: 1,
                          into: &reward)
            return StepResult(reward: reward, terminated: false)
        }
        return StepResult(reward: Float(reward(tip: tip)), terminated: false)
    }

    /// One RK4 step of (q, q̇) under the current torques, then the joint stops.
    private func integrate(dt: Double) {
        let n = links
        let a1 = slot(0), a2 = slot(1), a3 = slot(2), a4 = slot(3), v2 = slot(4), v3 = slot(5), v4 = slot(6)
        let trialQ = slot(7), trialV = slot(8)
        dynamics.accelerations(q, qd, torque: torque, into: a1)
        for i in 0..<n { trialQ[i] = q[i] + dt / 2 * qd[i]; trialV[i] = qd[i] + dt / 2 * a1[i] }
        v2.update(from: trialV, count: n)
        dynamics.accelerations(trialQ, trialV, torque: torque, into: a2)
        for i in 0..<n { trialQ[i] = q[i] + dt / 2 * v2[i]; trialV[i] = qd[i] + dt / 2 * a2[i] }
        v3.update(from: trialV, count: n)
        dynamics.accelerations(trialQ, trialV, torque: torque, into: a3)
        for i in 0..<n { trialQ[i] = q[i] + dt * v3[i]; trialV[i] = qd[i] + dt * a3[i] }
        v4.update(from: trialV, count: n)
        dynamics.accelerations(trialQ, trialV, torque: torque, into: a4)
        for i in 0..<n {
            q[i] += dt / 6 * (qd[i] + 2 * v2[i] + 2 * v3[i] + v4[i])
            qd[i] += dt / 6 * (a1[i] + 2 * a2[i] + 2 * a3[i] + a4[i])
        }
        guard jointLimit < Double.pi else { return }
        for i in 1..<max(n, 1) {
            if q[i] > jointLimit { q[i] = jointLimit; qd[i] = min(qd[i], 0) }
            if q[i] < -jointLimit { q[i] = -jointLimit; qd[i] = max(qd[i], 0) }
        }
    }

    /// The disc slides with Coulomb friction, then contact with the fingertip pushes it out along the normal.
    private func moveDisc(dt: Double, tipBefore: (x: Double, y: Double)) {
        let speed = hypot(disc.vx, disc.vy)
        if speed > 0 {
            let scale = max(0, speed - Self.discFrictionDeceleration * dt) / speed
            disc.vx *= scale
            disc.vy *= scale
        }
        disc.x += disc.vx * dt
        disc.y += disc.vy * dt
        let tip = fingertip
        let dx = disc.x - tip.x, dy = disc.y - tip.y, distance = hypot(dx, dy)
        let contact = Self.fingertipRadius + Self.discRadius
        guard distance < contact else { return }
        let (nx, ny) = distance > 1e-12 ? (dx / distance, dy / distance) : (1.0, 0.0)
        disc.x = tip.x + nx * contact
        disc.y = tip.y + ny * contact
        let tipNormalSpeed = ((tip.x - tipBefore.x) * nx + (tip.y - tipBefore.y) * ny) / dt
        let discNormalSpeed = disc.vx * nx + disc.vy * ny
        if discNormalSpeed < tipNormalSpeed {
            disc.vx += (tipNormalSpeed - discNormalSpeed) * nx
            disc.vy += (tipNormalSpeed - discNormalSpeed) * ny
        }
    }

    private func divergence() -> String? {
        for i in 0..<links where !q[i].isFinite || !qd[i].isFinite || abs(qd[i]) > Self.divergenceSpeed {
            return "the simulation diverged: joint \(i) at \(qd[i]) rad/s (limit \(Int(Self.divergenceSpeed))); "
                + "use more substeps, heavier links or a lower torque_limit"
        }
        if !(disc.x.isFinite && disc.y.isFinite && disc.vx.isFinite && disc.vy.isFinite) {
            return "the simulation diverged: the disc left the finite plane; use more substeps"
        }
        return nil
    }

    /// Distance (m) that decides success: fingertip (reach) or disc (push) to target.
    public var distance: Double {
        switch task {
        case .reach: let tip = fingertip; return hypot(tip.x - target.x, tip.y - target.y)
        case .push: return hypot(disc.x - target.x, disc.y - target.y)
        }
    }

    private func reward(tip: (x: Double, y: Double)) -> Double {
        switch task {
        case .reach: return -distance - lastControlCost
        case .push: return -distance - 0.5 * hypot(tip.x - disc.x, tip.y - disc.y) - lastControlCost
        }
    }

    private func writeObservation(_ observation: UnsafeMutablePointer<Float>) {
        if isGoalTask { return writeGoalObservation(observation) }
        let n = links
        for i in 0..<n {
            observation[i] = Float(cos(q[i]))
            observation[n + i] = Float(sin(q[i]))
        }
        let tip = fingertip
        switch task {
        case .reach:
            observation[2 * n] = Float(target.x); observation[2 * n + 1] = Float(target.y)
            for i in 0..<n { observation[2 * n + 2 + i] = Float(qd[i]) }
            observation[3 * n + 2] = Float(tip.x - target.x); observation[3 * n + 3] = Float(tip.y - target.y)
        case .push:
            for i in 0..<n { observation[2 * n + i] = Float(qd[i]) }
            let o = observation + 3 * n
            o[0] = Float(tip.x - disc.x); o[1] = Float(tip.y - disc.y)
            o[2] = Float(disc.x - target.x); o[3] = Float(disc.y - target.y)
            o[4] = Float(disc.vx); o[5] = Float(disc.vy)
            o[6] = Float(target.x); o[7] = Float(target.y)
        }
    }

    /// `goal=true`: achieved goal, desired goal, then cos q, sin q, q̇ (and for push fingertip − disc, disc velocity).
    private func writeGoalObservation(_ observation: UnsafeMutablePointer<Float>) {
        let n = links
        let tip = fingertip
        let achieved = task == .reach ? tip : (disc.x, disc.y)
        observation[0] = Float(achieved.0); observation[1] = Float(achieved.1)
        observation[2] = Float(target.x); observation[3] = Float(target.y)
        let o = observation + 4
        for i in 0..<n {
            o[i] = Float(cos(q[i]))
            o[n + i] = Float(sin(q[i]))
            o[2 * n + i] = Float(qd[i])
        }
        if task == .push {
            o[3 * n] = Float(tip.x - disc.x); o[3 * n + 1] = Float(tip.y - disc.y)
            o[3 * n + 2] = Float(disc.vx); o[3 * n + 3] = Float(disc.vy)
        }
    }

    // MARK: State

    public var stateChecksum: UInt64 {
        var hasher = StateHasher()
        for word in saveState() { hasher.combine(word) }
        return hasher.value
    }

    public func saveState() -> [UInt64] {
        var words: [UInt64] = []
        for i in 0..<links { words.append(q[i].bitPattern); words.append(qd[i].bitPattern) }
        words += [target.x, target.y, disc.x, disc.y, disc.vx, disc.vy, lastControlCost].map(\.bitPattern)
        words.append((failure != nil).stateWord)
        return words + rng.stateWords
    }

    public func restoreState(_ words: [UInt64]) throws {
        var reader = StateReader(words, environment: id)
        var angles: [Double] = [], velocities: [Double] = []
        for _ in 0..<links { angles.append(try reader.finiteDouble()); velocities.append(try reader.finiteDouble()) }
        let restoredTarget = (x: try reader.finiteDouble(), y: try reader.finiteDouble())
        let restoredDisc = (x: try reader.finiteDouble(), y: try reader.finiteDouble(), vx: try reader.finiteDouble(), vy: try reader.finiteDouble())
        let cost = try reader.finiteDouble()
        let failed = try reader.bool()
        let generator = try reader.generator()
        try reader.finish()
        for i in 0..<links { q[i] = angles[i]; qd[i] = velocities[i] }
        target = restoredTarget
        disc = restoredDisc
        lastControlCost = cost
        failure = failed ? SimulationError(environment: id, message: "the simulation had diverged before this state was saved") : nil
        rng = generator
        trailCount = 0
    }

    public var infoKeys: [String] {
        let keys = ["distance", "success", "fingertip_x", "fingertip_y", "energy", "diverged"]
        return task == .push ? keys + ["fingertip_disc_distance"] : keys
    }

    public func writeInfo(into values: UnsafeMutablePointer<Double>) {
        let tip = fingertip
        (values[0], values[1], values[2], values[3]) = (distance, distance <= successDistance ? 1 : 0, tip.x, tip.y)
        (values[4], values[5]) = (energy, failure == nil ? 0 : 1)
        if task == .push { values[6] = hypot(tip.x - disc.x, tip.y - disc.y) }
    }

    // MARK: Rendering

    public var renderSize: (width: Int, height: Int) { (400, 400) }

    /// Shown at half speed (25 of the 50 control steps a second) so a 1 s reach can be followed. Discrete actions are
    /// named by their torque per joint, joint 0 first ("+-": joint 0 forward, joint 1 back). Evaluations report the
    /// success rate and the final distance to the target.
    public var metadata: EnvironmentMetadata {
        let names = discreteActions ? (0..<actionCount).map { code in
            String((0..<links).map { joint in ["-", "0", "+"][code / Self.power(3, joint) % 3] }.joined())
        } : []
        return EnvironmentMetadata(actionNames: names, renderFPS: 0.5 / Self.controlTimeStep,
                                   metrics: [EvaluationMetric("success_rate", info: "success", .atEnd, unit: "%", label: "success"),
                                             EvaluationMetric("final_distance", info: "distance", .atEnd, unit: "m",
                                                              label: "final distance")])
    }

    private static func power(_ base: Int, _ exponent: Int) -> Int { (0..<exponent).reduce(1) { product, _ in product * base } }

    public func render(into canvas: inout Canvas) {
        let scale = 0.45 * Double(min(canvas.width, canvas.height)) / dynamics.reach
        let cx = Double(canvas.width) / 2, cy = Double(canvas.height) / 2
        func screen(_ p: (x: Double, y: Double)) -> (x: Double, y: Double) { (cx + p.x * scale, cy - p.y * scale) }
        canvas.fill(Color(245, 243, 238))
        // Workspace boundary.
        for k in 0..<180 {
            let a = 2 * Double.pi * Double(k) / 180, b = 2 * Double.pi * Double(k + 1) / 180
            let r = dynamics.reach
            canvas.line(from: screen((r * cos(a), r * sin(a))), to: screen((r * cos(b), r * sin(b))), Color(200, 200, 200))
        }
        let t = screen(target)
        canvas.fillCircle(centerX: t.x, centerY: t.y, radius: max(3, successDistance * scale), Color.red.withAlpha(90))
        canvas.fillCircle(centerX: t.x, centerY: t.y, radius: 3, .red)
        if task == .push {
            let d = screen((disc.x, disc.y))
            canvas.fillCircle(centerX: d.x, centerY: d.y, radius: Self.discRadius * scale, .blue)
        }
        for k in 0..<trailCount {  // oldest first, fading in
            let p = screen(trail[(trailNext - trailCount + k + Self.trailLength) % Self.trailLength])
            canvas.fillCircle(centerX: p.x, centerY: p.y, radius: 2, Color.orange.withAlpha(UInt8(40 + 200 * k / trailCount)))
        }
        let joints = dynamics.jointPositions(q)
        for i in 0..<links {
            canvas.line(from: screen(joints[i]), to: screen(joints[i + 1]), thickness: 8, Color(60, 90, 140))
        }
        for i in 0..<links {
            let p = screen(joints[i])
            canvas.fillCircle(centerX: p.x, centerY: p.y, radius: 6, Color(40, 40, 40))
        }
        let tip = screen(joints[links])
        canvas.fillCircle(centerX: tip.x, centerY: tip.y, radius: max(3, Self.fingertipRadius * scale), .green)
        canvas.text(String(format: "DISTANCE %.3f M", distance), x: 6, y: 6, .black)
    }
}
