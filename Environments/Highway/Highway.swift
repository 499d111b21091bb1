import Foundation
import Sim

/// Highway driving in the manner of highway-env: an ego car among IDM/MOBIL traffic on a multi-lane road.
///
/// ## Description
/// The ego drives a kinematic bicycle; every other driver follows IDM (speed) and MOBIL (lane changes) with
/// highway-env's parameters. Scenarios: `highway` (highway-v0: 4 lanes, 50 vehicles, 40 s, 15 Hz simulation, 1 Hz
/// decisions), `highway-fast` (highway-fast-v0: 3 lanes, 20 vehicles, 30 s, 5 Hz, only the ego's collisions checked)
/// and `merge` (merge-v0: two lanes, an on-ramp joining from the right, a merging car to make room for).
///
/// ## Action space
/// `discrete` (default): `Discrete(5)` meta-actions 0 lane left, 1 idle, 2 lane right, 3 faster, 4 slower, tracked by
/// the low-level steering and speed controllers (target speeds 20, 25, 30 m/s). `continuous`: `Box(−1, 1, [2])`,
/// acceleration ×5 m/s² and steering ×π/4 rad.
///
/// ## Observation space
/// The ego and its `observed_vehicles` nearest vehicles within 200 m (ahead only unless `see_behind`), one row each:
/// presence, x, y, vx, vy, cos h, sin h. The ego row is absolute, the others relative to the ego (positions and
/// velocities; headings absolute); x ÷ 200 m, y ÷ (4 m × lanes), velocities ÷ 80 m/s, all clipped to [−1, 1].
/// `observation=entities`: an entity set with presence in feature 0, for attention encoders; `flat`: the same numbers
/// as a `Box(−1, 1)` vector for MLPs. Rows sorted by distance, or `order=shuffled`.
///
/// ## Reward
/// collision −1, high speed (forward speed 20…30 m/s → 0…`high_speed_reward`), right lane (0…`right_lane_reward`
/// from the leftmost to the rightmost lane), lane change `lane_change_reward`; merge adds −0.5 × the merging cars'
/// relative speed deficit. Normalized to [0, 1] and multiplied by on-road (0 off the road) unless `offroad=terminate`.
///
/// ## Episode end
/// Terminated on the ego's collision (or off road with `offroad=terminate`; in `merge`, past x = 370 m). Truncated at
/// `duration` seconds by the time limit.
public final class Highway: Environment, EntityPositions, IntermediateFrames {
    public static let optionSpecs: [OptionSpec] = [
        OptionSpec("scenario", .choice(["highway", "highway-fast", "merge"]), default: "highway",
                   "highway (highway-v0), highway-fast (highway-fast-v0) or merge (merge-v0); sets the defaults below"),
        OptionSpec("lanes", .integer(1...8), default: "", "number of lanes (highway 4, highway-fast 3, merge 2)"),
        OptionSpec("vehicles", .integer(0...400), default: "", "other vehicles (highway 50, highway-fast 20; merge places 4)"),
        OptionSpec("density", .real(0.1...10), default: "1", "traffic density: spacing between spawned vehicles ÷ this"),
        OptionSpec("ego_spacing", .real(0.1...10), default: "", "spacing ahead of the ego at the start (highway 2, highway-fast 1.5)"),
        OptionSpec("duration", .real(1...3600), default: "", "episode length in seconds (40; highway-fast 30)"),
        OptionSpec("simulation_frequency", .integer(1...100), default: "", "physics frames per second (15; highway-fast 5)"),
        OptionSpec("policy_frequency", .integer(1...100), default: "1", "decisions per second"),
        OptionSpec("traffic_collisions", .boolean, default: "", "detect collisions between other vehicles too (false in highway-fast)"),
        OptionSpec("action", .choice(["discrete", "continuous"]), default: "discrete", "meta-actions or (acceleration, steering)"),
        OptionSpec("observation", .choice(["entities", "flat"]), default: "entities", "entity set (attention) or flat vector (MLP)"),
        OptionSpec("observed_vehicles", .integer(1...64), default: "4", "vehicles observed besides the ego"),
        OptionSpec("order", .choice(["sorted", "shuffled"]), default: "sorted", "observation rows by distance or shuffled"),
        OptionSpec("see_behind", .boolean, default: "false", "observe vehicles behind the ego too"),
        OptionSpec("offroad", .choice(["penalize", "terminate"]), default: "penalize", "leaving the road: reward 0, or end the episode"),
        OptionSpec("collision_reward", .real(-100...0), default: "-1", "reward for a collision"),
        OptionSpec("right_lane_reward", .real(0...100), default: "0.1", "reward for the rightmost lane"),
        OptionSpec("high_speed_reward", .real(0...100), default: "", "reward at 30 m/s (0.4; merge 0.2)"),
        OptionSpec("lane_change_reward", .real(-100...100), default: "", "reward per lane-change action (0; merge −0.05)"),
    ]

    /// The ego's target speeds for the faster/slower meta-actions: 20, 25 and 30 m/s.
    public static let targetSpeedCount = 3
    public static func targetSpeed(_ index: Int) -> Double { 20 + 5 * Double(index) }
    public static let featureCount = 7
    static let perceptionDistance = 5 * VehicleModel.maxSpeed
    static let rewardSpeedRange = 20.0...30.0
    static let mergingSpeedReward = -0.5
    static let mergeFinishX = 370.0

    public enum Scenario: String, Sendable { case highway, highwayFast = "highway-fast", merge }

    /// The registry id.
    public static let id = "highway"
    public var id: String { Self.id }
    public let options: ResolvedOptions
    public let scenario: Scenario
    public let laneCount: Int
    public let otherVehicleCount: Int
    public let duration: Double
    public let simulationFrequency: Int
    public let policyFrequency: Int
    public let continuousActions: Bool
    public let flatObservation: Bool
    public let observedVehicles: Int
    let density: Double, egoSpacing: Double, trafficCollisions: Bool
    let shuffled: Bool, seeBehind: Bool, offroadTerminates: Bool
    let collisionReward: Double, rightLaneReward: Double, highSpeedReward: Double, laneChangeReward: Double

    var traffic: Traffic
    private var rng = SeededGenerator(seed: 0)
    /// Candidate rows for the observation: vehicle index and squared distance, preallocated.
    private var nearest: [(index: Int, distance: Double)]
    private var lastActionChangedLane = false
    /// Rows filled in the last observation besides the ego's (their vehicles are `nearest[0..<observedCount]`).
    private var observedCount = 0
    /// Called after each simulation frame of a step but the last (displays draw the frames between decisions).
    public var onIntermediateFrame: (() -> Void)?

    public init(options given: [String: String] = [:]) throws {
        let options = try ResolvedOptions(given, specs: Self.optionSpecs, environment: "highway")
        let scenario = Scenario(rawValue: options.string("scenario")!)!
        self.options = options
        self.scenario = scenario
        /// An option's value, or the scenario's default for it.
        func value(_ name: String, _ highway: String, fast: String? = nil, merge: String? = nil) -> String {
            options.string(name) ?? (scenario == .highwayFast ? fast : scenario == .merge ? merge : nil) ?? highway
        }
        laneCount = Int(value("lanes", "4", fast: "3", merge: "2"))!
        otherVehicleCount = scenario == .merge ? 4 : Int(value("vehicles", "50", fast: "20"))!
        if scenario == .merge, options.string("vehicles") != nil {
            throw OptionError.invalidValue(environment: "highway", name: "vehicles", value: options.string("vehicles")!,
                                           problem: "the merge scenario places its own 4 vehicles; drop this option")
        }
        density = options.double("density")
        egoSpacing = Double(value("ego_spacing", "2", fast: "1.5"))!
        duration = Double(value("duration", "40", fast: "30"))!
        simulationFrequency = Int(value("simulation_frequency", "15", fast: "5"))!
        policyFrequency = options.int("policy_frequency")
        guard simulationFrequency % policyFrequency == 0 else {
            throw OptionError.invalidValue(environment: "highway", name: "policy_frequency", value: "\(policyFrequency)",
                                           problem: "must divide simulation_frequency (\(simulationFrequency))")
        }
        trafficCollisions = ["true", "1", "yes"].contains(value("traffic_collisions", "true", fast: "false").lowercased())
        continuousActions = options.string("action") == "continuous"
        flatObservation = options.string("observation") == "flat"
        observedVehicles = options.int("observed_vehicles")
        shuffled = options.string("order") == "shuffled"
        seeBehind = options.bool("see_behind")
        offroadTerminates = options.string("offroad") == "terminate"
        collisionReward = options.double("collision_reward")
        rightLaneReward = options.double("right_lane_reward")
        highSpeedReward = Double(value("high_speed_reward", "0.4", merge: "0.2"))!
        laneChangeReward = Double(value("lane_change_reward", "0", merge: "-0.05"))!
        let road = scenario == .merge ? Road.merge(lanes: laneCount) : Road.straight(lanes: laneCount)
        let placeholder = Vehicle(x: 0, y: 0, speed: 0, lane: 0)
        traffic = Traffic(road: road, vehicles: Array(repeating: placeholder, count: otherVehicleCount + 1),
                          egoControl: continuousActions ? .direct : .targets)
        nearest = Array(repeating: (0, 0), count: max(otherVehicleCount, observedVehicles) + 1)
        var observation = [Float](repeating: 0, count: observationSpace.flatCount)
        reset(seed: 0, observation: &observation)
    }

    /// Steps in an episode: `duration` × `policy_frequency`.
    public var maxSteps: Int { Int((duration * Double(policyFrequency)).rounded()) }
    var ego: Vehicle { traffic.vehicles[0] }

    public var observationSpace: Space {
        let rows = observedVehicles + 1
        return flatObservation ? .box(low: -1, high: 1, shape: [rows * Self.featureCount])
                               : .entitySet(rows: rows, features: Self.featureCount)
    }
    public var actionSpace: Space { continuousActions ? .box(low: -1, high: 1, shape: [2]) : .discrete(5) }

    // MARK: Reset

    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) {
        if let seed { rng = SeededGenerator(seed: seed) }
        if scenario == .merge { placeMergeVehicles() } else { placeHighwayVehicles() }
        traffic.sortAlongRoad()
        lastActionChangedLane = false
        writeObservation(observation)
    }

    private func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * rng.nextDouble() }

    /// highway-v0's placement: the ego first, then each vehicle ahead of the frontmost one by a random lane and a
    /// spacing that grows with speed and shrinks with the number of lanes.
    private func placeHighwayVehicles() {
        var frontX = -Double.infinity
        for i in 0...otherVehicleCount {
            let speed = i == 0 ? 25 : uniform(0.7 * traffic.road.speedLimit, 0.8 * traffic.road.speedLimit)
            let lane = rng.nextInt(below: laneCount)
            let offset = (i == 0 ? egoSpacing : 1 / density) * (12 + speed) * exp(-5.0 / 40 * Double(laneCount))
            let x = (frontX.isFinite ? frontX : 3 * offset) + offset * uniform(0.9, 1.1)
            frontX = max(frontX, x)
            var vehicle = Vehicle(x: x, y: 4 * Double(lane), speed: speed, lane: lane)
            if i == 0 {
                vehicle.targetSpeed = Self.targetSpeed(Self.speedIndex(speed))
            } else {
                vehicle.delta = uniform(VehicleModel.deltaRange.lowerBound, VehicleModel.deltaRange.upperBound)
                vehicle.laneChangeTimer = uniform(0, VehicleModel.laneChangeDelay)
                vehicle.checksCollisions = trafficCollisions
            }
            traffic.vehicles[i] = vehicle
        }
    }

    /// merge-v0's placement: the ego at x = 30 m, 30 m/s in the right lane; three cars near it in random lanes; one
    /// car on the ramp at x = 110 m, 20 m/s, wanting 30 m/s.
    private func placeMergeVehicles() {
        let right = laneCount - 1
        traffic.vehicles[0] = Vehicle(x: 30, y: 4 * Double(right), speed: 30, lane: right)
        traffic.vehicles[0].targetSpeed = Self.targetSpeed(Self.speedIndex(30))
        for i in 1...3 {
            let (x, speed) = i == 1 ? (90.0, 29.0) : i == 2 ? (70.0, 31.0) : (5.0, 31.5)
            let lane = rng.nextInt(below: laneCount)
            traffic.vehicles[i] = Vehicle(x: x + uniform(-5, 5), y: 4 * Double(lane), speed: speed + uniform(-1, 1), lane: lane)
        }
        let ramp = traffic.road.lanes.count - 1
        traffic.vehicles[4] = Vehicle(x: 110, y: traffic.road.lanes[ramp].centerY(at: 110), speed: 20, lane: ramp)
        traffic.vehicles[4].targetSpeed = 30
        for i in 1...4 {
            traffic.vehicles[i].laneChangeTimer = uniform(0, VehicleModel.laneChangeDelay)
            traffic.vehicles[i].checksCollisions = trafficCollisions
        }
    }

    /// The index of the target speed nearest to `speed`.
    static func speedIndex(_ speed: Double) -> Int {
        let first = targetSpeed(0), last = targetSpeed(targetSpeedCount - 1)
        let position = ((speed - first) / (last - first) * Double(targetSpeedCount - 1)).rounded()
        return Int(clamp(position, 0, Double(targetSpeedCount - 1)))
    }

    // MARK: Step

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        applyEgoAction(action)
        let frames = simulationFrequency / policyFrequency, dt = 1 / Double(simulationFrequency)
        for frame in 0..<frames {
            traffic.advance(dt: dt)
            if frame < frames - 1, let onIntermediateFrame { onIntermediateFrame() }
        }
        writeObservation(observation)
        let ego = traffic.vehicles[0]
        let onRoad = traffic.road.isOnRoad(x: ego.x, y: ego.y)
        let terminated = ego.crashed || (offroadTerminates && !onRoad) || (scenario == .merge && ego.x > Self.mergeFinishX)
        return StepResult(reward: Float(reward(onRoad: onRoad)), terminated: terminated)
    }

    private func applyEgoAction(_ action: UnsafePointer<Float>) {
        if continuousActions {
            precondition(action[0].isFinite && action[1].isFinite, "highway: continuous actions must be finite")
            traffic.vehicles[0].acceleration = 5 * Double(max(-1, min(1, action[0])))
            traffic.vehicles[0].steering = Double.pi / 4 * Double(max(-1, min(1, action[1])))
            return
        }
        let meta = Int(action[0])
        precondition(Float(meta) == action[0] && (0..<5).contains(meta), "highway: action must be 0...4, got \(action[0])")
        lastActionChangedLane = meta == 0 || meta == 2
        var ego = traffic.vehicles[0]
        switch meta {
        case 0, 2:
            let lane = traffic.road.sideLane(of: ego.targetLane, side: meta == 0 ? -1 : 1, x: ego.x, y: ego.y)
            if lane >= 0 { ego.targetLane = lane }
        case 3, 4:
            let index = Self.speedIndex(ego.speed) + (meta == 3 ? 1 : -1)
            ego.targetSpeed = Self.targetSpeed(max(0, min(Self.targetSpeedCount - 1, index)))
        default: break
        }
        traffic.vehicles[0] = ego
    }

    private func reward(onRoad: Bool) -> Double {
        let ego = traffic.vehicles[0]
        let lane = Double(min(continuousActions ? ego.lane : ego.targetLane, laneCount - 1))
        let forwardSpeed = ego.speed * ego.cosHeading
        let speedFraction = clamp((forwardSpeed - Self.rewardSpeedRange.lowerBound)
                                  / (Self.rewardSpeedRange.upperBound - Self.rewardSpeedRange.lowerBound), 0, 1)
        var reward = collisionReward * (ego.crashed ? 1 : 0) + rightLaneReward * lane / Double(max(laneCount - 1, 1))
            + highSpeedReward * speedFraction + laneChangeReward * (lastActionChangedLane ? 1 : 0)
        var worst = collisionReward + min(laneChangeReward, 0)
        let best = highSpeedReward + rightLaneReward + max(laneChangeReward, 0)
        if scenario == .merge {
            let ramp = traffic.road.lanes[traffic.road.lanes.count - 1]
            var deficit = 0.0
            for i in 1..<traffic.vehicles.count {
                let v = traffic.vehicles[i]
                if v.lane == traffic.road.lanes.count - 1 && ramp.leftChange.contains(v.x) {
                    deficit += (v.targetSpeed - v.speed) / notZero(v.targetSpeed)
                }
            }
            reward += Self.mergingSpeedReward * deficit
            worst += Self.mergingSpeedReward
        }
        let normalized = clamp((reward - worst) / (best - worst), 0, 1)
        return offroadTerminates || onRoad ? normalized : 0
    }

    // MARK: Observation

    private func writeObservation(_ observation: UnsafeMutablePointer<Float>) {
        let rows = observedVehicles + 1, features = Self.featureCount
        observation.update(repeating: 0, count: rows * features)
        let ego = traffic.vehicles[0]
        writeRow(observation, ego, relativeTo: nil)
        // The nearest vehicles within the perception distance, kept sorted by insertion (at most `rows - 1`).
        var count = 0
        let limit = Self.perceptionDistance * Self.perceptionDistance
        for j in 1..<traffic.vehicles.count {
            let v = traffic.vehicles[j]
            let dx = v.x - ego.x, dy = v.y - ego.y
            let distance = dx * dx + dy * dy
            guard distance < limit, seeBehind || dx > -2 * VehicleModel.length else { continue }
            guard count < observedVehicles || distance < nearest[count - 1].distance else { continue }
            var k = min(count, observedVehicles - 1)
            while k > 0 && nearest[k - 1].distance > distance {
                nearest[k] = nearest[k - 1]
                k -= 1
            }
            nearest[k] = (j, distance)
            count = min(count + 1, observedVehicles)
        }
        if shuffled {
            // Fisher–Yates, swapped by hand: `swapAt` on the stored array allocated (measured in a debug build).
            for k in stride(from: count - 1, to: 0, by: -1) {
                let j = rng.nextInt(below: k + 1)
                let row = nearest[k]
                nearest[k] = nearest[j]
                nearest[j] = row
            }
        }
        for k in 0..<count { writeRow(observation + (k + 1) * features, traffic.vehicles[nearest[k].index], relativeTo: ego) }
        observedCount = count
    }

    /// One observation row: presence, x, y, vx, vy, cos h, sin h, relative to `origin` (positions and velocities)
    /// when given, normalized and clipped to [−1, 1].
    private func writeRow(_ row: UnsafeMutablePointer<Float>, _ v: Vehicle, relativeTo origin: Vehicle?) {
        let xScale = Self.perceptionDistance, yScale = 4 * Double(laneCount), vScale = 2 * VehicleModel.maxSpeed
        var x = v.x, y = v.y, vx = v.speed * v.cosHeading, vy = v.speed * v.sinHeading
        if let o = origin {
            x -= o.x; y -= o.y; vx -= o.speed * o.cosHeading; vy -= o.speed * o.sinHeading
        }
        row[0] = 1
        row[1] = Float(clamp(x / xScale, -1, 1))
        row[2] = Float(clamp(y / yScale, -1, 1))
        row[3] = Float(clamp(vx / vScale, -1, 1))
        row[4] = Float(clamp(vy / vScale, -1, 1))
        row[5] = Float(v.cosHeading)
        row[6] = Float(v.sinHeading)
    }

    // MARK: State

    public var stateChecksum: UInt64 {
        var hasher = StateHasher()
        for word in traffic.stateWords() { hasher.combine(word) }
        hasher.combine(lastActionChangedLane)
        hasher.combine(rng)
        return hasher.value
    }

    public func saveState() -> [UInt64] { traffic.stateWords() + [lastActionChangedLane.stateWord] + rng.stateWords }

    public func restoreState(_ words: [UInt64]) throws {
        var reader = StateReader(words, environment: id)
        var restored = traffic
        try restored.restore(from: &reader)
        let changed = try reader.bool()
        let generator = try reader.generator()
        try reader.finish()
        traffic = restored
        lastActionChangedLane = changed
        rng = generator
    }

    public var infoKeys: [String] { ["speed", "forward_speed", "crashed", "lane", "x", "y", "on_road", "traffic_speed"] }

    public func writeInfo(into values: UnsafeMutablePointer<Double>) {
        let ego = traffic.vehicles[0]
        (values[0], values[1], values[2], values[3]) = (ego.speed, ego.speed * ego.cosHeading, ego.crashed ? 1 : 0, Double(ego.lane))
        (values[4], values[5], values[6]) = (ego.x, ego.y, traffic.road.isOnRoad(x: ego.x, y: ego.y) ? 1 : 0)
        var others = 0.0
        for index in 1..<traffic.vehicles.count { others += traffic.vehicles[index].speed }
        values[7] = others / Double(max(otherVehicleCount, 1))
    }

    // MARK: Rendering

    /// Every simulation frame is drawn, in real time (render_fps = simulation_frequency, highway-env's choice), so
    /// a decision lasts `simulation_frequency / policy_frequency` frames. Keyboard play uses the meta-actions.
    /// Evaluations report collisions, the ego's mean speed and the traffic's.
    public var metadata: EnvironmentMetadata {
        EnvironmentMetadata(
            actionNames: continuousActions ? [] : ["LEFT", "IDLE", "RIGHT", "FASTER", "SLOWER"],
            keyboard: continuousActions ? [] : [KeyBinding(.up, 0, "lane left"), KeyBinding(.down, 2, "lane right"),
                                                KeyBinding(.right, 3, "faster"), KeyBinding(.left, 4, "slower"),
                                                KeyBinding(.space, 1, "idle")],
            renderFPS: Double(simulationFrequency), framesPerStep: simulationFrequency / policyFrequency,
            metrics: [EvaluationMetric("collision_rate", info: "crashed", .atEnd, unit: "%", label: "collisions"),
                      EvaluationMetric("mean_speed", info: "speed", .meanOverSteps, unit: "m/s", label: "mean speed"),
                      EvaluationMetric("mean_traffic_speed", info: "traffic_speed", .meanOverSteps, unit: "m/s", label: "traffic speed")])
    }

    static let pixelsPerMetre = 6.0
    public var renderSize: (width: Int, height: Int) {
        let road = traffic.road
        let top = -2.0, bottom = road.hasRamp ? road.lanes[road.lanes.count - 1].fromY + 2 : 4 * Double(laneCount) - 2
        return (600, Int(((bottom - top) + 10) * Self.pixelsPerMetre))
    }

    /// Pixel position of road point (x, y) in a frame `width` pixels wide: the camera keeps the ego at 30% of it.
    private func screen(_ x: Double, _ y: Double, width: Int) -> (x: Double, y: Double) {
        let scale = Self.pixelsPerMetre
        let originX = traffic.vehicles[0].x - 0.3 * Double(width) / scale, originY = -2.0 - 5
        return ((x - originX) * scale, (y - originY) * scale)
    }

    public var entityScreenPositions: [(x: Double, y: Double)?] {
        var positions: [(x: Double, y: Double)?] = Array(repeating: nil, count: observedVehicles + 1)
        positions[0] = screen(traffic.vehicles[0].x, traffic.vehicles[0].y, width: renderSize.width)
        for k in 0..<observedCount {
            let v = traffic.vehicles[nearest[k].index]
            positions[k + 1] = screen(v.x, v.y, width: renderSize.width)
        }
        return positions
    }

    public func render(into canvas: inout Canvas) {
        let scale = Self.pixelsPerMetre
        let ego = traffic.vehicles[0]
        let originX = ego.x - 0.3 * Double(canvas.width) / scale
        let width = canvas.width
        func screen(_ x: Double, _ y: Double) -> (x: Double, y: Double) { self.screen(x, y, width: width) }
        canvas.fill(Color(96, 110, 96))
        let visibleStart = originX, visibleEnd = originX + Double(canvas.width) / scale
        let asphalt = Color(60, 60, 64), marking = Color(235, 235, 235)
        for lane in traffic.road.lanes {
            let from = max(lane.startX, visibleStart), to = min(lane.endX, visibleEnd)
            guard from < to else { continue }
            var x = from
            while x < to {
                let next = min(x + 2, to)
                let a = lane.centerY(at: x), b = lane.centerY(at: next), half = lane.width / 2
                canvas.fillPolygon([screen(x, a - half), screen(next, b - half), screen(next, b + half), screen(x, a + half)], asphalt)
                x = next
            }
            // Edges: solid where the neighbouring lane cannot be entered, else dashed (3 m every 5 m); a dashed line
            // is drawn once, as the left edge of the lane to its right.
            let half = lane.width / 2
            var s = (from / 5).rounded(.down) * 5
            while s < to {
                let end = s + 5, dash = s + 3
                let leftSolid = lane.left < 0 || !lane.leftChange.contains(s)
                let leftEnd = leftSolid ? end : dash
                canvas.line(from: screen(s, lane.centerY(at: s) - half), to: screen(leftEnd, lane.centerY(at: leftEnd) - half), marking)
                if lane.right < 0 || !lane.rightChange.contains(s) {
                    canvas.line(from: screen(s, lane.centerY(at: s) + half), to: screen(end, lane.centerY(at: end) + half), marking)
                }
                s = end
            }
        }
        if traffic.road.hasRamp {
            let ramp = traffic.road.lanes[traffic.road.lanes.count - 1]
            let c = screen(ramp.endX, ramp.centerY(at: ramp.endX)), h = Traffic.obstacleSize / 2 * scale
            canvas.fillRect(x: Int(c.x - h), y: Int(c.y - h), width: Int(2 * h), height: Int(2 * h), .red)
        }
        for (i, v) in traffic.vehicles.enumerated() {
            let color: Color = v.crashed ? .red : i == 0 ? Color(50, 200, 0) : Color(100, 160, 235)
            canvas.fillPolygon(v.rectangle.corners.map { screen($0.x, $0.y) }, color)
            let nose = screen(v.x + v.cosHeading * 2, v.y + v.sinHeading * 2)
            canvas.fillCircle(centerX: nose.x, centerY: nose.y, radius: 1.5, .white)
        }
        canvas.text(String(format: "%.1f M/S  LANE %d", ego.speed, ego.lane), x: 4, y: 4, .white)
    }
}
