@testable import Environments
import Foundation
import Sim
import Testing
import TestSupport

@Suite struct HighwayTests {
    /// A single lane with `count` IDM drivers, spaced `spacing` m apart, every one wanting a different speed.
    func platoon(count: Int, spacing: Double, leaderTarget: Double, seed: UInt64) -> Traffic {
        var rng = SeededGenerator(seed: seed)
        var vehicles: [Vehicle] = []
        for k in 0..<count {
            var v = Vehicle(x: Double(count - k) * spacing, y: 0, speed: 20 + 10 * rng.nextDouble(), lane: 0)
            v.targetSpeed = k == 0 ? leaderTarget : 25 + 10 * rng.nextDouble()
            v.delta = 3.5 + rng.nextDouble()
            vehicles.append(v)
        }
        return Traffic(road: .straight(lanes: 1), vehicles: vehicles, egoControl: .none)
    }

    /// Started at gaps IDM itself would keep (60 m centre to centre covers its desired gap up to 30 m/s).
    @Test("IDM followers never collide in a single-lane platoon, even when the leader slows to a crawl",
          arguments: [(2.0, 0x51 as UInt64), (5.0, 0x52), (15.0, 0x53)])
    func platoonNeverCollides(leaderTarget: Double, seed: UInt64) {
        var traffic = platoon(count: 20, spacing: 60, leaderTarget: leaderTarget, seed: seed)
        var smallestGap = Double.infinity
        for _ in 0..<(15 * 120) {  // two minutes at 15 Hz
            traffic.advance(dt: 1.0 / 15)
            for k in 1..<traffic.vehicles.count {
                smallestGap = min(smallestGap, traffic.vehicles[k - 1].x - traffic.vehicles[k].x - VehicleModel.length)
            }
        }
        #expect(!traffic.vehicles.contains { $0.crashed })
        #expect(smallestGap > 1, "bumper-to-bumper gap fell to \(smallestGap) m")
        // The platoon settled behind the leader: everyone near its speed.
        let leader = traffic.vehicles[0].speed
        #expect(abs(leader - leaderTarget) < 0.5 && traffic.vehicles.allSatisfy { abs($0.speed - leader) < 1 })
    }

    @Test("The bicycle model drives a circle of radius (L/2)/sin β with β = atan(tan δ / 2)", arguments: [0.05, 0.3, 0.9])
    func turningRadius(steering: Double) {
        var v = Vehicle(x: 0, y: 0, speed: 10, lane: 0)
        v.steering = steering
        let beta = atan(tan(steering) / 2), radius = VehicleModel.length / 2 / sin(beta)
        // The centre lies a radius away, perpendicular (to the right, +y) to the initial velocity direction β.
        let centre = (x: -radius * sin(beta), y: radius * cos(beta))
        var worst = 0.0
        let dt = 1e-4, steps = Int(0.5 * Double.pi * radius / 10 / dt)  // a quarter turn
        for _ in 0..<steps {
            v.integrate(dt: dt)
            worst = max(worst, abs(hypot(v.x - centre.x, v.y - centre.y) - radius) / radius)
        }
        #expect(worst < 1e-3, "radius off by \(worst * 100)% (R = \(radius) m)")
        #expect(abs(wrapToPi(v.heading - Double.pi / 2)) < 0.01)
    }

    @Test("The separating-axis test agrees with a brute-force polygon overlap check on random rectangles")
    func separatingAxisMatchesBruteForce() {
        var rng = SeededGenerator(seed: 11)
        var overlapping = 0
        for _ in 0..<20_000 {
            func rectangle() -> OrientedRectangle {
                let h = 2 * Double.pi * rng.nextDouble()
                return OrientedRectangle(x: 8 * rng.nextDouble(), y: 8 * rng.nextDouble(), cos: cos(h), sin: sin(h),
                                         length: 0.5 + 6 * rng.nextDouble(), width: 0.5 + 3 * rng.nextDouble())
            }
            let a = rectangle(), b = rectangle()
            let fast = a.overlaps(b)
            #expect(fast == a.overlapsByPolygonClipping(b) && fast == b.overlaps(a))
            if fast { overlapping += 1 }
        }
        #expect(overlapping > 2_000 && overlapping < 18_000)  // both outcomes well represented
    }

    @Test("The sweep finds exactly the pairs an all-pairs check finds, with near-linear work", arguments: [50, 400])
    func broadPhase(count: Int) throws {
        let env = try Highway(options: ["vehicles": "\(count)", "density": "3"])
        env.reset(seed: 5)
        var traffic = env.traffic
        let testsBefore = traffic.narrowPhaseTests
        var crashedPairs = 0
        for _ in 0..<150 {
            traffic.advance(dt: 1.0 / 15)
            let all = traffic.vehicles
            for i in all.indices { for j in (i + 1)..<all.count where all[i].rectangle.overlaps(all[j].rectangle) {
                crashedPairs += 1
                #expect(all[i].crashed && all[j].crashed)
            } }
        }
        let perVehicleFrame = Double(traffic.narrowPhaseTests - testsBefore) / Double(150 * (count + 1))
        #expect(perVehicleFrame < 1.5, "\(perVehicleFrame) narrow-phase tests per vehicle per frame")
        _ = crashedPairs
    }

    @Test("Meta-actions: lane changes move the ego one lane and stay on the road; faster and slower step the target speed")
    func metaActions() throws {
        let env = try Highway(options: ["vehicles": "0"])
        var observation = [Float](repeating: 0, count: env.observationSpace.flatCount)
        env.reset(seed: 1, observation: &observation)
        let startLane = env.ego.lane
        let towardsMiddle: Float = startLane >= 2 ? 0 : 2
        _ = env.step([towardsMiddle], observation: &observation)
        _ = env.step([1], observation: &observation)
        #expect(env.ego.lane == startLane + (towardsMiddle == 0 ? -1 : 1))
        #expect(abs(env.ego.y - 4 * Double(env.ego.lane)) < 0.2 && abs(env.ego.heading) < 0.02)
        for _ in 0..<6 { _ = env.step([towardsMiddle == 0 ? 0 : 2], observation: &observation) }
        #expect(env.ego.lane == (towardsMiddle == 0 ? 0 : 3) && env.info["on_road"] == 1)  // clipped at the edge
        for _ in 0..<4 { _ = env.step([3], observation: &observation) }
        #expect(env.ego.targetSpeed == 30 && abs(env.ego.speed - 30) < 0.5)
        for _ in 0..<4 { _ = env.step([4], observation: &observation) }
        #expect(env.ego.targetSpeed == 20 && abs(env.ego.speed - 20) < 0.5)
    }

    @Test("Reward follows highway-env: speed and right lane in [0, 1], a crash terminates with the collision reward")
    func rewardAndCrash() throws {
        let env = try Highway(options: ["vehicles": "0", "lanes": "3"])
        var observation = [Float](repeating: 0, count: env.observationSpace.flatCount)
        env.reset(seed: 2, observation: &observation)
        for _ in 0..<8 { _ = env.step([2], observation: &observation) }
        for _ in 0..<4 { let r = env.step([3], observation: &observation); _ = r }
        let fastRight = env.step([1], observation: &observation)
        #expect(abs(fastRight.reward - 1) < 0.02)  // 30 m/s in the rightmost lane: (0.4 + 0.1 + 1) / 1.5
        // Put a stopped car just ahead of the ego: a crash, and the collision reward.
        let crash = try Highway(options: ["vehicles": "1", "lanes": "1"])
        crash.reset(seed: 3, observation: &observation)
        var vehicles = crash.traffic.vehicles
        vehicles[1].x = crash.ego.x + 12
        vehicles[1].speed = 0
        vehicles[1].targetSpeed = 0
        crash.traffic = Traffic(road: crash.traffic.road, vehicles: vehicles, egoControl: .targets)
        var result = StepResult(reward: 0, terminated: false)
        for _ in 0..<3 where !result.terminated { result = crash.step([3], observation: &observation) }
        #expect(result.terminated && crash.info["crashed"] == 1)
        #expect(result.reward < 0.34)  // (−1 + high speed ≤ 0.4 + right lane 0.1 − (−1)) / 1.5
    }

    @Test("Off the road: the reward is zeroed, or the episode ends with offroad=terminate")
    func offroad() throws {
        for terminate in [false, true] {
            let env = try Highway(options: ["vehicles": "0", "action": "continuous", "offroad": terminate ? "terminate" : "penalize"])
            var observation = [Float](repeating: 0, count: env.observationSpace.flatCount)
            env.reset(seed: 4, observation: &observation)
            var result = StepResult(reward: 1, terminated: false), steps = 0
            while env.info["on_road"] == 1 && steps < 20 { result = env.step([0, 0.05], observation: &observation); steps += 1 }
            #expect(env.info["on_road"] == 0)
            #expect(terminate ? result.terminated : (result.reward == 0 && !result.terminated))
        }
    }

    @Test("Merge: a ramp car merges into the free highway before the ramp ends, or stops short of the obstacle when blocked")
    func rampCarMerges() {
        for blocked in [false, true] {
            let road = Road.merge(lanes: 2), ramp = road.lanes.count - 1
            var rampCar = Vehicle(x: 110, y: road.lanes[ramp].centerY(at: 110), speed: 20, lane: ramp)
            rampCar.targetSpeed = 30
            var vehicles = [rampCar]
            // A slow column on the right lane, alongside the whole merge section, blocks the merge.
            if blocked { for k in 0..<12 { vehicles.append(Vehicle(x: 200 + 12 * Double(k), y: 4, speed: 0, lane: 1)) } }
            for k in 1..<vehicles.count { vehicles[k].targetSpeed = 0 }
            var traffic = Traffic(road: road, vehicles: vehicles, egoControl: .none)
            for _ in 0..<(15 * 30) { traffic.advance(dt: 1.0 / 15) }
            let car = traffic.vehicles[0]
            #expect(!traffic.vehicles.contains { $0.crashed })
            if blocked {
                #expect(car.lane == ramp && car.x < road.lanes[ramp].endX - 3 && abs(car.speed) < 0.5)
            } else {
                #expect(car.lane == 1 && car.x > road.lanes[ramp].endX && abs(car.y - 4) < 0.1)
            }
        }
    }

    @Test("Merge: passing x = 370 m ends the episode")
    func mergeEnds() throws {
        let env = try Highway(options: ["scenario": "merge"])
        var observation = [Float](repeating: 0, count: env.observationSpace.flatCount)
        env.reset(seed: 6, observation: &observation)
        var result = StepResult(reward: 0, terminated: false), steps = 0
        while !result.terminated && steps < 40 { result = env.step([4], observation: &observation); steps += 1 }
        #expect(result.terminated && env.ego.x > 370 && !env.ego.crashed && steps < 20)
    }

    @Test("Observations: ego row absolute, others relative and nearest first, absent rows zero")
    func observation() throws {
        let env = try Highway(options: ["scenario": "highway-fast", "observed_vehicles": "30", "see_behind": "true"])
        var observation = [Float](repeating: 0, count: env.observationSpace.flatCount)
        env.reset(seed: 7, observation: &observation)
        for _ in 0..<5 { _ = env.step([1], observation: &observation) }
        let rows = 31, f = Highway.featureCount
        #expect(observation[0] == 1 && observation[2] == Float(env.ego.y / 12))
        var last: Float = 0, present = 0
        for r in 1..<rows where observation[r * f] == 1 {
            let d = hypotf(observation[r * f + 1] * 200, observation[r * f + 2] * 12)
            #expect(d >= last - 1e-3)
            last = d
            present += 1
        }
        let inRange = env.traffic.vehicles.dropFirst().filter { hypot($0.x - env.ego.x, $0.y - env.ego.y) < 200 }.count
        #expect(present == min(inRange, 30) && present < 20)
        for r in (present + 1)..<rows { #expect(observation[(r * f)..<(r * f + f)].allSatisfy { $0 == 0 }) }
    }

    @Test("Save and restore continue bitwise identically; a state from another configuration is refused")
    func saveRestore() throws {
        let a = try Highway(options: ["scenario": "highway-fast"]), b = try Highway(options: ["scenario": "highway-fast"])
        var oa = [Float](repeating: 0, count: a.observationSpace.flatCount), ob = oa
        a.reset(seed: 8, observation: &oa)
        for k in 0..<5 { _ = a.step([Float(k % 5)], observation: &oa) }
        try b.restoreState(a.saveState())
        #expect(a.stateChecksum == b.stateChecksum)
        for k in 0..<10 {
            let ra = a.step([Float((k * 3) % 5)], observation: &oa), rb = b.step([Float((k * 3) % 5)], observation: &ob)
            #expect(ra == rb && oa == ob)
        }
        #expect(a.stateChecksum == b.stateChecksum)
        #expect(throws: SimulationError.self) { try Highway(options: [:]).restoreState(a.saveState()) }
    }

    @Test("Options: the merge scenario refuses a vehicle count; frequencies must divide")
    func options() {
        #expect(throws: OptionError.self) { try Highway(options: ["scenario": "merge", "vehicles": "9"]) }
        #expect(throws: OptionError.self) { try Highway(options: ["simulation_frequency": "10", "policy_frequency": "3"]) }
    }
}
