import Foundation

/// One lane. Coordinates are metres: x runs along the road in the driving direction, y across it and grows to the
/// right of the driving direction, so lane 0 is the leftmost (highway-env's convention). A lane's longitudinal
/// coordinate is x itself; its centre is straight at `fromY`, or (the merge scenario's on-ramp) blends from `fromY`
/// to `toY` along a half cosine between `blendStart` and `blendEnd`.
struct Lane: Sendable {
    var startX: Double
    var endX: Double
    var width = 4.0
    var fromY: Double
    var toY: Double
    var blendStart = 0.0
    var blendEnd = 0.0
    /// Neighbour lanes (−1 when none) and the x range in which a vehicle may change into each.
    var left = -1
    var right = -1
    var leftChange = -Double.infinity..<Double.infinity
    var rightChange = -Double.infinity..<Double.infinity
    /// A stopped obstacle sits at the lane's end (the on-ramp), which drivers brake for.
    var endsWithObstacle = false

    init(startX: Double, endX: Double, y: Double) {
        self.startX = startX
        self.endX = endX
        fromY = y
        toY = y
    }

    /// Centre-line y (m) at `x`.
    @inline(__always)
    func centerY(at x: Double) -> Double {
        if blendEnd <= blendStart || x <= blendStart { return x <= blendStart ? fromY : toY }
        if x >= blendEnd { return toY }
        let phase = Double.pi * (x - blendStart) / (blendEnd - blendStart)
        return toY + (fromY - toY) * (1 + cos(phase)) / 2
    }

    /// Direction of the centre line at `x` (rad, 0 along +x).
    @inline(__always)
    func heading(at x: Double) -> Double {
        guard blendEnd > blendStart, x > blendStart, x < blendEnd else { return 0 }
        let span = blendEnd - blendStart
        let slope = -(fromY - toY) * Double.pi / span * sin(Double.pi * (x - blendStart) / span) / 2
        return atan(slope)
    }

    /// Signed offset (m) of (x, y) from the centre line.
    @inline(__always)
    func lateral(x: Double, y: Double) -> Double { y - centerY(at: x) }

    /// Whether a point is on this lane, widened by `margin` metres on each side (highway-env's `on_lane`).
    @inline(__always)
    func contains(x: Double, y: Double, margin: Double = 0) -> Bool {
        abs(lateral(x: x, y: y)) <= width / 2 + margin && x >= startX - VehicleModel.length && x < endX + VehicleModel.length
    }

    /// Whether a vehicle at (x, y) may steer into this lane: alongside it and at most two lane widths away.
    func isReachable(x: Double, y: Double) -> Bool {
        abs(lateral(x: x, y: y)) <= 2 * width && x >= startX && x < endX + VehicleModel.length
    }
}

/// The road: parallel highway lanes (`mainLanes` of them, lanes 0..<mainLanes) and, in the merge scenario, an
/// on-ramp (the last lane) that joins the rightmost one.
struct Road: Sendable {
    var lanes: [Lane]
    let mainLanes: Int
    /// Drivers' target speeds are capped at this (m/s), as highway-env's lane speed limits.
    let speedLimit: Double

    /// A straight road of `count` lanes 4 m apart, 10 km long (highway-env's `straight_road_network`).
    static func straight(lanes count: Int, speedLimit: Double = 30) -> Road {
        var lanes: [Lane] = []
        for i in 0..<count {
            var lane = Lane(startX: 0, endX: 10_000, y: 4 * Double(i))
            lane.left = i - 1
            lane.right = i + 1 < count ? i + 1 : -1
            lanes.append(lane)
        }
        return Road(lanes: lanes, mainLanes: count, speedLimit: speedLimit)
    }

    /// merge-v0's layout: `count` highway lanes; an on-ramp 6.5 m right of the rightmost lane's neighbour for
    /// 150 m, converging over 80 m, running alongside for 80 m where vehicles may merge, and closed by an obstacle.
    static let rampStraight = 150.0, rampConverge = 80.0, rampMerge = 80.0
    static func merge(lanes count: Int) -> Road {
        var road = straight(lanes: count, speedLimit: 20)
        let mergeY = 4 * Double(count)
        var ramp = Lane(startX: 0, endX: rampStraight + rampConverge + rampMerge, y: mergeY)
        ramp.fromY = mergeY + 6.5
        ramp.blendStart = rampStraight
        ramp.blendEnd = rampStraight + rampConverge
        ramp.left = count - 1
        ramp.leftChange = ramp.blendEnd..<ramp.endX
        ramp.endsWithObstacle = true
        road.lanes[count - 1].right = count
        road.lanes[count - 1].rightChange = ramp.blendEnd..<ramp.endX
        road.lanes.append(ramp)
        return road
    }

    var hasRamp: Bool { lanes.count > mainLanes }

    /// The lane nearest to (x, y): smallest lateral offset, plus the distance beyond the lane's ends.
    @inline(__always)
    func closestLane(x: Double, y: Double) -> Int {
        var best = 0, bestDistance = Double.infinity
        for i in 0..<lanes.count {
            let lane = lanes[i]
            let distance = abs(lane.lateral(x: x, y: y)) + max(x - lane.endX, 0) + max(lane.startX - x, 0)
            if distance < bestDistance { best = i; bestDistance = distance }
        }
        return best
    }

    /// The neighbour lane of `lane` on `side` (−1 left, +1 right) that a vehicle at (x, y) may change into, or −1.
    func sideLane(of lane: Int, side: Int, x: Double, y: Double) -> Int {
        let current = lanes[lane]
        let candidate = side < 0 ? current.left : current.right
        guard candidate >= 0, (side < 0 ? current.leftChange : current.rightChange).contains(x),
              lanes[candidate].isReachable(x: x, y: y)
        else { return -1 }
        return candidate
    }

    /// Whether (x, y) is on any lane.
    func isOnRoad(x: Double, y: Double) -> Bool {
        for i in 0..<lanes.count where lanes[i].contains(x: x, y: y) { return true }
        return false
    }
}
