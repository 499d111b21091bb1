import Foundation

/// Rigid-body dynamics of a planar arm of revolute joints, each link a uniform rod (mass m, length l, moment of
/// inertia m·l²/12 about its centre). Joint angles q are relative (q₀ from the +x axis, qᵢ from the previous link),
/// counter-clockwise positive; gravity, when on, points along −y.
///
///     M(q) q̈ + b(q, q̇) = τ − d·q̇
///
/// M is the joint-space mass matrix, Mⱼₖ = Σ_{i ≥ max(j,k)} mᵢ (cᵢ − pⱼ)·(cᵢ − pₖ) + Iᵢ, with pⱼ the position of joint j
/// and cᵢ the centre of link i; b holds the Coriolis, centrifugal and gravity torques, computed by the recursive
/// Newton–Euler algorithm with q̈ = 0. The system is solved by Cholesky factorization. All work happens in buffers
/// sized once; nothing allocates per call.
final class ArmDynamics {
    let links: Int
    let lengths: [Double]       // m
    let masses: [Double]        // kg
    let inertias: [Double]      // kg·m², about each link's centre
    let damping: Double         // N·m·s/rad, every joint
    let gravity: Double         // m/s², along −y
    /// Total reach (m): the sum of the link lengths.
    let reach: Double

    // Scratch, sized once.
    private var cosTheta: [Double], sinTheta: [Double]
    private var jointX: [Double], jointY: [Double], centreX: [Double], centreY: [Double]
    private var linkAccelerationX: [Double], linkAccelerationY: [Double]
    private var mass: [Double]          // links × links, row-major; its lower triangle becomes the Cholesky factor
    private var rhs: [Double]

    init(lengths: [Double], masses: [Double], damping: Double, gravity: Double) {
        precondition(!lengths.isEmpty && lengths.count == masses.count, "an arm needs as many masses as link lengths")
        links = lengths.count
        self.lengths = lengths
        self.masses = masses
        inertias = zip(masses, lengths).map { $0 * $1 * $1 / 12 }
        self.damping = damping
        self.gravity = gravity
        reach = lengths.reduce(0, +)
        cosTheta = Array(repeating: 0, count: links); sinTheta = cosTheta
        jointX = Array(repeating: 0, count: links + 1); jointY = jointX
        centreX = cosTheta; centreY = cosTheta
        linkAccelerationX = cosTheta; linkAccelerationY = cosTheta
        mass = Array(repeating: 0, count: links * links)
        rhs = cosTheta
    }


    /// Absolute link angles, joint positions (joint `links` is the fingertip) and link centres for angles `q`.
    @inline(__always)
    private func kinematics(_ q: UnsafePointer<Double>) {
        var theta = 0.0
        for i in 0..<links {
            theta += q[i]
            cosTheta[i] = cos(theta)
            sinTheta[i] = sin(theta)
            jointX[i + 1] = jointX[i] + lengths[i] * cosTheta[i]
            jointY[i + 1] = jointY[i] + lengths[i] * sinTheta[i]
            centreX[i] = jointX[i] + lengths[i] / 2 * cosTheta[i]
            centreY[i] = jointY[i] + lengths[i] / 2 * sinTheta[i]
        }
    }

    /// Fingertip position (m) for angles `q`.
    func fingertip(_ q: UnsafePointer<Double>) -> (x: Double, y: Double) {
        kinematics(q)
        return (jointX[links], jointY[links])
    }

    /// Joint positions (m), base first and fingertip last, for rendering.
    func jointPositions(_ q: UnsafePointer<Double>) -> [(x: Double, y: Double)] {
        kinematics(q)
        return (0...links).map { (jointX[$0], jointY[$0]) }
    }

    /// Joint accelerations q̈ (rad/s²) for angles `q` (rad), velocities `qd` (rad/s) and joint torques `torque` (N·m).
    func accelerations(_ q: UnsafePointer<Double>, _ qd: UnsafePointer<Double>, torque: UnsafePointer<Double>,
                       into qdd: UnsafeMutablePointer<Double>) {
        kinematics(q)
        let n = links
        // Mass matrix (symmetric; the lower triangle is filled).
        for j in 0..<n {
            for k in 0...j {
                var sum = 0.0
                for i in j..<n {
                    let ajx = centreX[i] - jointX[j], ajy = centreY[i] - jointY[j]
                    let akx = centreX[i] - jointX[k], aky = centreY[i] - jointY[k]
                    sum += masses[i] * (ajx * akx + ajy * aky) + inertias[i]
                }
                mass[j * n + k] = sum
            }
        }
        // Newton–Euler with q̈ = 0: forward pass for the link-centre accelerations (−ω² from the joint), gravity
        // entering as an upward acceleration of the base…
        var omega = 0.0, jointAx = 0.0, jointAy = gravity
        for i in 0..<n {
            omega += qd[i]
            let w2 = omega * omega
            let hx = lengths[i] / 2 * cosTheta[i], hy = lengths[i] / 2 * sinTheta[i]
            linkAccelerationX[i] = jointAx - w2 * hx
            linkAccelerationY[i] = jointAy - w2 * hy
            jointAx -= w2 * 2 * hx
            jointAy -= w2 * 2 * hy
        }
        // …then backward for the moments those accelerations need at each joint (b), with f the force passed on to
        // the links beyond.
        var forceX = 0.0, forceY = 0.0, moment = 0.0  // f_{i+1} and the moment at joint i+1
        for i in stride(from: n - 1, through: 0, by: -1) {
            let fx = masses[i] * linkAccelerationX[i], fy = masses[i] * linkAccelerationY[i]
            let sx = lengths[i] / 2 * cosTheta[i], sy = lengths[i] / 2 * sinTheta[i]
            let rx = 2 * sx, ry = 2 * sy
            moment += (sx * fy - sy * fx) + (rx * forceY - ry * forceX)
            forceX += fx
            forceY += fy
            rhs[i] = torque[i] - damping * qd[i] - moment
        }
        // Solve M q̈ = rhs: Cholesky M = L Lᵀ in place, then two triangular solves.
        for j in 0..<n {
            var d = mass[j * n + j]
            for k in 0..<j { d -= mass[j * n + k] * mass[j * n + k] }
            let diagonal = d.squareRoot()
            mass[j * n + j] = diagonal
            for i in (j + 1)..<max(j + 1, n) {
                var s = mass[i * n + j]
                for k in 0..<j { s -= mass[i * n + k] * mass[j * n + k] }
                mass[i * n + j] = s / diagonal
            }
        }
        for i in 0..<n {
            var s = rhs[i]
            for k in 0..<i { s -= mass[i * n + k] * qdd[k] }
            qdd[i] = s / mass[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = qdd[i]
            for k in (i + 1)..<max(i + 1, n) { s -= mass[k * n + i] * qdd[k] }
            qdd[i] = s / mass[i * n + i]
        }
    }

    /// Kinetic energy ½ q̇ᵀ M q̇ plus potential energy Σ mᵢ g yᵢ (J).
    func energy(_ q: UnsafePointer<Double>, _ qd: UnsafePointer<Double>) -> Double {
        kinematics(q)
        var kinetic = 0.0, potential = 0.0, omega = 0.0
        var vx = 0.0, vy = 0.0  // velocity of joint i
        for i in 0..<links {
            omega += qd[i]
            let hx = lengths[i] / 2 * cosTheta[i], hy = lengths[i] / 2 * sinTheta[i]
            let cvx = vx - omega * hy, cvy = vy + omega * hx
            kinetic += 0.5 * masses[i] * (cvx * cvx + cvy * cvy) + 0.5 * inertias[i] * omega * omega
            potential += masses[i] * gravity * centreY[i]
            vx -= omega * 2 * hy
            vy += omega * 2 * hx
        }
        return kinetic + potential
    }

    /// Angular momentum about the base (kg·m²/s): Σ mᵢ cᵢ × ċᵢ + Iᵢ ωᵢ.
    func angularMomentum(_ q: UnsafePointer<Double>, _ qd: UnsafePointer<Double>) -> Double {
        kinematics(q)
        var total = 0.0, omega = 0.0, vx = 0.0, vy = 0.0
        for i in 0..<links {
            omega += qd[i]
            let hx = lengths[i] / 2 * cosTheta[i], hy = lengths[i] / 2 * sinTheta[i]
            let cvx = vx - omega * hy, cvy = vy + omega * hx
            total += masses[i] * (centreX[i] * cvy - centreY[i] * cvx) + inertias[i] * omega
            vx -= omega * 2 * hy
            vy += omega * 2 * hx
        }
        return total
    }
}
