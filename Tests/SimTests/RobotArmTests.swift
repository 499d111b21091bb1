@testable import Environments
import Foundation
import Sim
import Testing
import TestSupport

@Suite struct RobotArmTests {
    func arm(_ options: [String: String]) throws -> (RobotArm, [Float]) {
        let env = try RobotArm(options: options)
        var observation = [Float](repeating: 0, count: env.observationSpace.flatCount)
        env.reset(seed: 1, observation: &observation)
        return (env, observation)
    }

    /// Measured: 2 links drift 3·10⁻⁸ (energy) and 3·10⁻⁹ (momentum); 5 links, in chaotic motion, 6·10⁻⁶ and 3·10⁻⁶.
    @Test("No torque, damping or gravity: energy drifts below 0.1% and angular momentum about the base below 10⁻⁵ over 10,000 steps",
          arguments: [2, 5])
    func conservation(links: Int) throws {
        let joints = (0..<links).map { "\(0.4 - 0.3 * Double($0))" }.joined(separator: ",")
        let velocities = (0..<links).map { "\($0 % 2 == 0 ? 3.0 : -4.0)" }.joined(separator: ",")
        var (env, observation) = try arm(["links": "\(links)", "damping": "0", "joint_limit": "\(Double.pi)",
                                          "joints": joints, "velocities": velocities])
        let energy0 = env.energy, momentum0 = env.angularMomentum
        #expect(energy0 > 0.001)
        let zero = [Float](repeating: 0, count: links)
        var worstEnergy = 0.0, worstMomentum = 0.0
        for _ in 0..<10_000 {
            _ = env.step(zero, observation: &observation)
            worstEnergy = max(worstEnergy, abs(env.energy - energy0) / energy0)
            worstMomentum = max(worstMomentum, abs(env.angularMomentum - momentum0) / abs(momentum0))
        }
        #expect(worstEnergy < 1e-3, "energy drift \(worstEnergy)")
        #expect(worstMomentum < 1e-5, "angular momentum drift \(worstMomentum)")
        // The links did move a lot (so conservation was tested on real motion, Coriolis terms included).
        #expect(env.joints.contains { abs($0) > 10 })
        _ = observation
    }

    @Test("A single link swings with the small-angle pendulum period 2π√(2l/3g)")
    func pendulumPeriod() throws {
        let amplitude = 0.05, length = 0.25, g = 9.81
        var (env, observation) = try arm(["links": "1", "link_lengths": "\(length)", "damping": "0", "gravity": "\(g)",
                                          "joints": "\(-Double.pi / 2 + amplitude)", "velocities": "0", "max_steps": "100000"])
        var crossings: [Double] = []
        var previous = env.joints[0] + Double.pi / 2
        for step in 1...2_000 {
            _ = env.step([0], observation: &observation)
            let angle = env.joints[0] + Double.pi / 2
            if previous > 0 && angle <= 0 {  // downward crossing: interpolate its time
                crossings.append(RobotArm.controlTimeStep * (Double(step - 1) + previous / (previous - angle)))
            }
            previous = angle
        }
        let expected = 2 * Double.pi * (2 * length / (3 * g)).squareRoot()
        let measured = (crossings.last! - crossings.first!) / Double(crossings.count - 1)
        #expect(crossings.count > 30)
        #expect(abs(measured - expected) / expected < 2e-3, "period \(measured) s, expected \(expected) s")
    }

    @Test("Torque does work: the energy gained matches ∫ τ·q̇ dt")
    func workEnergy() throws {
        var (env, observation) = try arm(["damping": "0", "joint_limit": "\(Double.pi)", "joints": "0,0", "velocities": "0,0", "torque_limit": "0.05"])
        var work = 0.0
        let energy0 = env.energy
        for step in 0..<25 {
            let action: [Float] = [0.8, step < 12 ? -0.5 : 0.6]
            let before = env.jointVelocities
            _ = env.step(action, observation: &observation)
            let after = env.jointVelocities
            for i in 0..<2 {  // trapezoid rule over the control step
                work += Double(action[i]) * env.torqueLimit * (before[i] + after[i]) / 2 * RobotArm.controlTimeStep
            }
        }
        let gained = env.energy - energy0
        #expect(gained > 0.001)
        #expect(abs(gained - work) / gained < 0.02, "energy gained \(gained) J, work \(work) J")
    }

    @Test("A diverging simulation ends the episode with a typed error instead of garbage")
    func divergence() throws {
        var (env, observation) = try arm(["link_masses": "0.000001,0.000001", "torque_limit": "1000", "damping": "0", "substeps": "1"])
        var result = StepResult(reward: 0, terminated: false), steps = 0
        while !result.terminated && steps < 200 { result = env.step([1, -1], observation: &observation); steps += 1 }
        #expect(result.terminated && env.failure != nil)
        #expect(env.failure?.description.contains("diverged") == true)
        #expect(observation.allSatisfy { $0.isFinite } && result.reward.isFinite)
    }

    @Test("Reset options set joints, velocities and target; a wrong count names the option and the fix")
    func resetOptions() throws {
        let (env, observation) = try arm(["joints": "0.5,-0.25", "velocities": "1,2", "target": "0.1,0.05"])
        #expect(env.joints == [0.5, -0.25] && env.jointVelocities == [1, 2])
        #expect(observation[4] == 0.1 && observation[5] == 0.05 && observation[6] == 1 && observation[7] == 2)
        let tip = env.fingertip
        #expect(abs(tip.x - (0.1 * cos(0.5) + 0.1 * cos(0.25))) < 1e-12 && abs(tip.y - (0.1 * sin(0.5) + 0.1 * sin(0.25))) < 1e-12)
        #expect(throws: OptionError.self) { try RobotArm(options: ["joints": "0.1,0.2,0.3"]) }
        do { _ = try RobotArm(options: ["links": "3", "link_lengths": "0.1,0.1"]) } catch {
            #expect("\(error)".contains("link_lengths") && "\(error)".contains("expected 3 numbers"))
        }
        #expect(throws: OptionError.self) { try RobotArm(options: ["disc": "0.1,0.1"]) }
    }

    @Test("Push: the fingertip moves the disc and never overlaps it")
    func push() throws {
        // Arm straight along +x (tip at 0.2, 0); turning joint 0 counter-clockwise sweeps the tip towards +y.
        var (env, observation) = try arm(["task": "push", "joints": "0,0", "velocities": "0,0", "disc": "0.19,0.06",
                                          "target": "0,0.15"])
        let start = env.disc
        for _ in 0..<30 {
            _ = env.step([1, 0], observation: &observation)
            let tip = env.fingertip
            #expect(hypot(env.disc.x - tip.x, env.disc.y - tip.y) >= RobotArm.fingertipRadius + RobotArm.discRadius - 1e-9)
        }
        #expect(hypot(env.disc.x - start.x, env.disc.y - start.y) > 0.03)
    }

    @Test("Discrete actions: one digit per joint, −1/0/+1 of the torque limit; the middle action applies none")
    func discreteActions() throws {
        var (env, observation) = try arm(["action": "discrete", "damping": "0", "joints": "0,0", "velocities": "0,0"])
        #expect(env.actionSpace == .discrete(9))
        _ = env.step([4], observation: &observation)       // (0, 0)
        #expect(env.jointVelocities == [0, 0])
        _ = env.step([5], observation: &observation)       // joint 0 +1, joint 1 0
        #expect(env.jointVelocities[0] > 0)
        let reference = try arm(["damping": "0", "joints": "0,0", "velocities": "0,0"])
        var o = reference.1
        _ = reference.0.step([0, 0], observation: &o)
        _ = reference.0.step([1, 0], observation: &o)
        #expect(reference.0.jointVelocities == env.jointVelocities)
    }

    @Test("Save and restore continue bitwise identically")
    func saveRestore() throws {
        var (a, oa) = try arm(["task": "push"])
        let b = try RobotArm(options: ["task": "push"])
        var ob = oa
        for k in 0..<7 { _ = a.step([Float(k % 3) - 1, 0.5], observation: &oa) }
        try b.restoreState(a.saveState())
        for k in 0..<20 {
            let action: [Float] = [0.3, Float(k % 3) - 1]
            #expect(a.step(action, observation: &oa) == b.step(action, observation: &ob) && oa == ob)
        }
        #expect(a.stateChecksum == b.stateChecksum)
    }
}
