import Foundation
import Sim

/// The traffic simulation behind the highway environment: vehicles on a road, advanced in frames of `dt` seconds.
/// Every driver except the ego (vehicle 0 when there is one) follows IDM for speed and MOBIL for lane changes, with
/// highway-env's parameters. A frame computes every command from the frame's starting state, integrates every
/// vehicle, re-sorts them along the road and detects collisions (sort-and-sweep broad phase, separating-axis narrow
/// phase), so its cost grows near-linearly with the number of vehicles.
struct Traffic: Sendable {
    /// How the ego (vehicle 0) is driven.
    enum EgoControl: Sendable, Equatable {
        /// No ego: vehicle 0 is a driver like the others.
        case none
        /// Lane and speed targets tracked by the low-level controllers (meta-actions).
        case targets
        /// Acceleration (m/s²) and steering (rad) held until changed.
        case direct
    }

    var road: Road
    var vehicles: [Vehicle]
    var egoControl: EgoControl
    /// Vehicle indices sorted by x; `rank[i]` is vehicle i's place in it.
    private(set) var order: [Int]
    private(set) var rank: [Int]
    /// Separating-axis tests run so far (to show the broad phase at work).
    private(set) var narrowPhaseTests = 0

    /// The stopped obstacle closing the on-ramp (highway-env's Obstacle is 2 m × 2 m).
    static let obstacleSize = 2.0

    init(road: Road, vehicles: [Vehicle], egoControl: EgoControl) {
        self.road = road
        self.vehicles = vehicles
        self.egoControl = egoControl
        order = Array(vehicles.indices)
        rank = Array(vehicles.indices)
        sortAlongRoad()
    }

    var hasEgo: Bool { egoControl != .none }

    // MARK: Frame

    /// Advances all vehicles by `dt` seconds.
    mutating func advance(dt: Double) {
        for i in 0..<vehicles.count { decide(i) }
        for i in 0..<vehicles.count {
            if !(hasEgo && i == 0) { vehicles[i].laneChangeTimer += dt }
            vehicles[i].integrate(dt: dt)
            vehicles[i].lane = road.closestLane(x: vehicles[i].x, y: vehicles[i].y)
        }
        sortAlongRoad()
        detectCollisions()
    }

    private mutating func decide(_ i: Int) {
        if hasEgo && i == 0 {
            switch egoControl {
            case .targets:
                vehicles[0].steering = vehicles[0].steeringToFollow(road.lanes[vehicles[0].targetLane])
                vehicles[0].acceleration = vehicles[0].speedControl
            case .direct:
                vehicles[0].targetSpeed = vehicles[0].speed
            case .none: break
            }
            return
        }
        guard !vehicles[i].crashed else { return }
        changeLanePolicy(i)
        let vehicle = vehicles[i]
        var acceleration = accelerationOf(i, behind: neighbours(of: i, in: vehicle.lane).front, delta: vehicle.delta)
        if vehicle.lane != vehicle.targetLane {
            let targetFront = neighbours(of: i, in: vehicle.targetLane).front
            acceleration = min(acceleration, accelerationOf(i, behind: targetFront, delta: vehicle.delta))
        }
        vehicles[i].acceleration = clamp(acceleration, -VehicleModel.maxAcceleration, VehicleModel.maxAcceleration)
        vehicles[i].steering = vehicle.steeringToFollow(road.lanes[vehicles[i].targetLane])
    }

    // MARK: Neighbours and driver models

    /// A vehicle index, or `obstacle` for the ramp's end, or `nobody`.
    static let nobody = -1, obstacle = -2

    /// The nearest vehicles ahead and behind vehicle `i` among those on `lane` (within 1 m beyond its edges, as
    /// highway-env counts a vehicle changing lanes on both), found by walking the x-sorted order.
    @inline(__always)
    func neighbours(of i: Int, in laneIndex: Int) -> (front: Int, rear: Int) {
        let lane = road.lanes[laneIndex]
        var front = Self.nobody, rear = Self.nobody
        var r = rank[i] + 1
        while r < order.count {
            let j = order[r]
            if lane.contains(x: vehicles[j].x, y: vehicles[j].y, margin: 1) { front = j; break }
            r += 1
        }
        if lane.endsWithObstacle, vehicles[i].x <= lane.endX, front == Self.nobody || vehicles[front].x > lane.endX {
            front = Self.obstacle
        }
        r = rank[i] - 1
        while r >= 0 {
            let j = order[r]
            if lane.contains(x: vehicles[j].x, y: vehicles[j].y, margin: 1) { rear = j; break }
            r -= 1
        }
        return (front, rear)
    }

    /// IDM acceleration of vehicle `follower` behind `leader` (an index, `obstacle` or `nobody`), using the deciding
    /// driver's exponent `delta`. `nobody` as follower gives 0.
    @inline(__always)
    func accelerationOf(_ follower: Int, behind leader: Int, delta: Double) -> Double {
        guard follower >= 0 else { return 0 }
        let f = vehicles[follower]
        let targetSpeed = clamp(f.targetSpeed, 0, road.speedLimit)
        switch leader {
        case Self.nobody:
            return idmAcceleration(speed: f.speed, targetSpeed: targetSpeed, delta: delta, gap: nil, closingSpeed: 0)
        case Self.obstacle:
            return idmAcceleration(speed: f.speed, targetSpeed: targetSpeed, delta: delta,
                                   gap: road.lanes[road.lanes.count - 1].endX - f.x, closingSpeed: f.speed)
        default:
            let l = vehicles[leader]
            let closing = f.speed - l.speed * (l.cosHeading * f.cosHeading + l.sinHeading * f.sinHeading)
            return idmAcceleration(speed: f.speed, targetSpeed: targetSpeed, delta: delta, gap: l.x - f.x, closingSpeed: closing)
        }
    }

    /// IDM's desired gap (m) of `follower` behind `leader`.
    func desiredGap(_ follower: Vehicle, _ leader: Vehicle) -> Double {
        let brake = (-VehicleModel.comfortAcceleration * VehicleModel.comfortDeceleration).squareRoot()
        let closing = follower.speed - leader.speed * (leader.cosHeading * follower.cosHeading + leader.sinHeading * follower.sinHeading)
        return VehicleModel.jamDistance + follower.speed * VehicleModel.timeGap + follower.speed * closing / (2 * brake)
    }

    /// MOBIL: change lanes once a second when it gains at least 0.2 m/s² without making the new follower brake
    /// harder than 2 m/s²; abort a change when another driver is changing into the same lane just ahead.
    private mutating func changeLanePolicy(_ i: Int) {
        let vehicle = vehicles[i]
        if vehicle.lane != vehicle.targetLane {
            for j in 0..<vehicles.count where j != i && vehicles[j].lane != vehicle.targetLane
                && vehicles[j].targetLane == vehicle.targetLane && !(hasEgo && j == 0 && egoControl == .direct) {
                let distance = vehicles[j].x - vehicle.x
                if distance > 0 && distance < desiredGap(vehicle, vehicles[j]) {
                    vehicles[i].targetLane = vehicle.lane
                    break
                }
            }
            return
        }
        guard vehicle.laneChangeTimer > VehicleModel.laneChangeDelay else { return }
        vehicles[i].laneChangeTimer = 0
        for side in stride(from: -1, through: 1, by: 2) {
            let candidate = road.sideLane(of: vehicle.lane, side: side, x: vehicle.x, y: vehicle.y)
            if candidate >= 0, abs(vehicle.speed) >= 1, mobilApproves(i, changingTo: candidate) {
                vehicles[i].targetLane = candidate
            }
        }
    }

    private func mobilApproves(_ i: Int, changingTo lane: Int) -> Bool {
        let delta = vehicles[i].delta
        let new = neighbours(of: i, in: lane)
        let newFollowerBefore = accelerationOf(new.rear, behind: new.front, delta: delta)
        let newFollowerAfter = accelerationOf(new.rear, behind: i, delta: delta)
        if newFollowerAfter < -VehicleModel.maximumBrakingImposed { return false }
        let old = neighbours(of: i, in: vehicles[i].lane)
        let selfAfter = accelerationOf(i, behind: new.front, delta: delta)
        let selfBefore = accelerationOf(i, behind: old.front, delta: delta)
        let oldFollowerBefore = accelerationOf(old.rear, behind: i, delta: delta)
        let oldFollowerAfter = accelerationOf(old.rear, behind: old.front, delta: delta)
        let gain = selfAfter - selfBefore + VehicleModel.politeness
            * (newFollowerAfter - newFollowerBefore + oldFollowerAfter - oldFollowerBefore)
        return gain >= VehicleModel.minimumAccelerationGain
    }

    // MARK: Sorting and collisions

    /// Insertion sort of `order` by x: vehicles rarely overtake within a frame, so this is linear in practice. Call
    /// it after placing vehicles from outside.
    mutating func sortAlongRoad() {
        for k in 1..<max(order.count, 1) {
            let item = order[k], x = vehicles[item].x
            var m = k - 1
            while m >= 0 && vehicles[order[m]].x > x {
                order[m + 1] = order[m]
                m -= 1
            }
            order[m + 1] = item
        }
        for position in 0..<order.count { rank[order[position]] = position }
    }

    /// Marks overlapping vehicles as crashed. Sweep along x: only pairs closer than a vehicle diagonal in x can
    /// touch; a pair counts when either of them checks collisions.
    private mutating func detectCollisions() {
        let reach = (VehicleModel.length * VehicleModel.length + VehicleModel.width * VehicleModel.width).squareRoot()
        for a in 0..<order.count {
            let i = order[a]
            var b = a + 1
            while b < order.count, vehicles[order[b]].x - vehicles[i].x <= reach {
                let j = order[b]
                if (vehicles[i].checksCollisions || vehicles[j].checksCollisions)
                    && abs(vehicles[j].y - vehicles[i].y) <= reach {
                    narrowPhaseTests += 1
                    if vehicles[i].rectangle.overlaps(vehicles[j].rectangle) {
                        vehicles[i].crashed = true
                        vehicles[j].crashed = true
                    }
                }
                b += 1
            }
        }
        guard road.hasRamp else { return }
        let ramp = road.lanes[road.lanes.count - 1]
        let block = OrientedRectangle(x: ramp.endX, y: ramp.centerY(at: ramp.endX), cos: 1, sin: 0,
                                      length: Self.obstacleSize, width: Self.obstacleSize)
        for i in 0..<vehicles.count where vehicles[i].checksCollisions && abs(vehicles[i].x - ramp.endX) <= reach {
            if vehicles[i].rectangle.overlaps(block) { vehicles[i].crashed = true }
        }
    }

    // MARK: State

    /// The words of the full state, for checkpoints and checksums.
    func stateWords() -> [UInt64] {
        var words: [UInt64] = [UInt64(vehicles.count)]
        for v in vehicles {
            words += [v.x, v.y, v.heading, v.speed, v.cosHeading, v.sinHeading, v.acceleration, v.steering,
                      v.targetSpeed, v.delta, v.laneChangeTimer].map(\.bitPattern)
            words += [v.lane.stateWord, v.targetLane.stateWord, v.crashed.stateWord, v.checksCollisions.stateWord]
        }
        return words
    }

    static let wordsPerVehicle = 15

    /// Restores vehicles from `stateWords()`' layout read by `reader`.
    mutating func restore(from reader: inout StateReader) throws {
        let count = try reader.int()
        guard count == vehicles.count else {
            throw SimulationError(environment: "highway", message: "saved state has \(count) vehicles, this configuration \(vehicles.count)")
        }
        for i in vehicles.indices {
            var v = vehicles[i]
            v.x = try reader.finiteDouble(); v.y = try reader.finiteDouble(); v.heading = try reader.finiteDouble(); v.speed = try reader.finiteDouble()
            v.cosHeading = try reader.finiteDouble(); v.sinHeading = try reader.finiteDouble()
            v.acceleration = try reader.finiteDouble(); v.steering = try reader.finiteDouble()
            v.targetSpeed = try reader.finiteDouble(); v.delta = try reader.finiteDouble(); v.laneChangeTimer = try reader.finiteDouble()
            v.lane = try reader.int(); v.targetLane = try reader.int()
            v.crashed = try reader.bool(); v.checksCollisions = try reader.bool()
            guard road.lanes.indices.contains(v.lane), road.lanes.indices.contains(v.targetLane) else {
                throw SimulationError(environment: "highway", message: "saved state names a lane this road does not have")
            }
            vehicles[i] = v
        }
        sortAlongRoad()
    }
}
