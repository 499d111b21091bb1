import Foundation

/// highway-env's vehicle, controller and driver-model constants (SI units).
enum VehicleModel {
    static let length = 5.0, width = 2.0                 // m
    static let maxSpeed = 40.0, minSpeed = -40.0         // m/s
    static let maxSteering = Double.pi / 3               // rad
    // Low-level controllers (first-order responses).
    static let accelerationGain = 1 / 0.6                // 1/s (TAU_ACC 0.6 s)
    static let headingGain = 1 / 0.2                     // 1/s (TAU_HEADING 0.2 s)
    static let lateralGain = 1 / 0.6                     // 1/s (TAU_LATERAL 0.6 s)
    static let pursuitTime = 0.1                         // s (TAU_PURSUIT)
    // IDM, the longitudinal driver model.
    static let maxAcceleration = 6.0                     // m/s²
    static let comfortAcceleration = 3.0                 // m/s²
    static let comfortDeceleration = -5.0                // m/s²
    static let jamDistance = 5.0 + length                // m, centre to centre
    static let timeGap = 1.5                             // s
    static let defaultDelta = 4.0
    static let deltaRange = 3.5...4.5
    // MOBIL, the lane-change model.
    static let politeness = 0.0
    static let minimumAccelerationGain = 0.2             // m/s²
    static let maximumBrakingImposed = 2.0               // m/s²
    static let laneChangeDelay = 1.0                     // s between decisions
}

/// One vehicle's state and driver. Positions in m, heading in rad (0 along +x, positive towards +y), speed in m/s.
struct Vehicle: Sendable {
    var x: Double
    var y: Double
    var heading: Double
    var speed: Double
    /// cos and sin of `heading`, kept in step with it.
    var cosHeading = 1.0, sinHeading = 0.0
    /// The commands applied during the current frame (m/s², rad).
    var acceleration = 0.0, steering = 0.0
    var lane: Int
    var targetLane: Int
    var targetSpeed: Double
    /// IDM's acceleration exponent, randomized per driver.
    var delta = VehicleModel.defaultDelta
    /// Seconds since the last MOBIL decision.
    var laneChangeTimer = 0.0
    var crashed = false
    /// Whether this vehicle's collisions are detected (highway-fast-v0 checks only the ego's).
    var checksCollisions = true

    init(x: Double, y: Double, heading: Double = 0, speed: Double, lane: Int) {
        self.x = x
        self.y = y
        self.heading = heading
        self.speed = speed
        self.lane = lane
        targetLane = lane
        targetSpeed = speed
        cosHeading = cos(heading)
        sinHeading = sin(heading)
    }

    var rectangle: OrientedRectangle {
        OrientedRectangle(x: x, y: y, cos: cosHeading, sin: sinHeading, length: VehicleModel.length, width: VehicleModel.width)
    }

    /// Kinematic bicycle model with the centre of mass midway between the axles: the slip angle
    /// β = atan(tan(δ)/2) turns the velocity, and the heading turns at v·sin β / (L/2). A crashed vehicle brakes to a
    /// stop with straight wheels; speeds stay within ±40 m/s.
    @inline(__always)
    mutating func integrate(dt: Double) {
        if crashed { steering = 0; acceleration = -speed }
        if speed > VehicleModel.maxSpeed { acceleration = min(acceleration, VehicleModel.maxSpeed - speed) }
        else if speed < VehicleModel.minSpeed { acceleration = max(acceleration, VehicleModel.minSpeed - speed) }
        // β = atan(tan(δ)/2), so cos β = 1/√(1 + t²) and sin β = t cos β with t = tan(δ)/2 (|δ| < π/2).
        let t = 0.5 * tan(steering)
        let cosBeta = 1 / (1 + t * t).squareRoot(), sinBeta = t * cosBeta
        x += speed * (cosHeading * cosBeta - sinHeading * sinBeta) * dt
        y += speed * (sinHeading * cosBeta + cosHeading * sinBeta) * dt
        heading += speed * sinBeta / (VehicleModel.length / 2) * dt
        speed += acceleration * dt
        cosHeading = cos(heading)
        sinHeading = sin(heading)
    }

    /// Steering (rad) that tracks `lane`'s centre line: lateral offset → lateral-speed command → heading reference
    /// (looking `pursuitTime` ahead) → heading-rate command → steering angle.
    @inline(__always)
    func steeringToFollow(_ lane: Lane) -> Double {
        let safeSpeed = notZero(speed)
        let futureHeading = lane.heading(at: x + speed * VehicleModel.pursuitTime)
        let lateralSpeedCommand = -VehicleModel.lateralGain * lane.lateral(x: x, y: y)
        let headingCommand = asin(clamp(lateralSpeedCommand / safeSpeed, -1, 1))
        let headingReference = futureHeading + clamp(headingCommand, -.pi / 4, .pi / 4)
        let headingRate = VehicleModel.headingGain * wrapToPi(headingReference - heading)
        // Slip angle β = asin(s) and steering δ = atan(2 tan β), with tan(asin(s)) = s/√(1 − s²).
        let s = clamp(VehicleModel.length / 2 / safeSpeed * headingRate, -1, 1)
        let steering = s * s < 1 ? atan(2 * s / (1 - s * s).squareRoot()) : (s > 0 ? Double.pi / 2 : -Double.pi / 2)
        return clamp(steering, -VehicleModel.maxSteering, VehicleModel.maxSteering)
    }

    /// Acceleration (m/s²) of the proportional speed controller towards `targetSpeed`.
    @inline(__always)
    var speedControl: Double { VehicleModel.accelerationGain * (targetSpeed - speed) }
}

/// IDM acceleration (m/s²) of a driver at `speed` wanting `targetSpeed`, with exponent `delta`; with a leader at
/// centre distance `gap` (m) closing at `closingSpeed` (m/s, along the follower's heading), or none (`gap` nil).
@inline(__always)
func idmAcceleration(speed: Double, targetSpeed: Double, delta: Double, gap: Double?, closingSpeed: Double) -> Double {
    // (v/v₀)^δ as exp(δ ln(v/v₀)): the same power, at a third of pow's cost.
    let ratio = max(speed, 0) / abs(notZero(targetSpeed))
    var acceleration = VehicleModel.comfortAcceleration * (1 - (ratio > 0 ? exp(delta * log(ratio)) : 0))
    if let gap {
        let brake = (-VehicleModel.comfortAcceleration * VehicleModel.comfortDeceleration).squareRoot()
        let desired = VehicleModel.jamDistance + speed * VehicleModel.timeGap + speed * closingSpeed / (2 * brake)
        let ratio = desired / notZero(gap)
        acceleration -= VehicleModel.comfortAcceleration * ratio * ratio
    }
    return acceleration
}

@inline(__always) func clamp(_ value: Double, _ low: Double, _ high: Double) -> Double { min(max(value, low), high) }
/// `value`, pushed away from zero to at least 0.01 in magnitude (highway-env's `not_zero`).
@inline(__always) func notZero(_ value: Double) -> Double { abs(value) > 0.01 ? value : (value >= 0 ? 0.01 : -0.01) }
@inline(__always) func wrapToPi(_ angle: Double) -> Double {
    let twoPi = 2 * Double.pi
    return (angle + .pi) - twoPi * ((angle + .pi) / twoPi).rounded(.down) - .pi
}
