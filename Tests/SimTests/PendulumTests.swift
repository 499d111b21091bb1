import Environments
import Foundation
import Sim
import Testing
import TestSupport

/// Pendulum against Gymnasium Pendulum-v1 fixtures (scripts/make_pendulum_fixtures.py): whole 200-step episodes from
/// given states and float32 action sequences (clipped ones included, one case with g = 9.81 and one with g = 15).
@Suite struct PendulumTests {
    struct Case: Decodable {
        let initial: [Double]
        let g: Double
        let first_observation: [Float]
        let actions: [Float]
        let states: [[Double]]
        let observations: [[Float]]
        /// Gymnasium's float64 rewards, compared after rounding to float32 (Dojo's reward type).
        let rewards: [Double]
        let terminated: [Bool]
        let truncated: [Bool]
    }
    struct FixtureFile: Decodable { let cases: [Case] }

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gym/pendulum.json")))
        return try JSONDecoder().decode(FixtureFile.self, from: data).cases
    }

    @Test("Whole episodes match Gymnasium: states, float32 observations, rewards, truncation at 200 steps")
    func matchesGymnasium() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 10)
        #expect(cases.contains { $0.g != 10 })
        #expect(cases.contains { $0.actions.contains { abs($0) > 2 } })
        #expect(cases.contains { $0.states.contains { abs($0[1]) == Pendulum.maxSpeed } })
        var worstState = 0.0
        for (index, fixture) in cases.enumerated() {
            let env = try EnvironmentRegistry.make("pendulum", options: [
                "state": fixture.initial.map { "\($0)" }.joined(separator: ","), "g": "\(fixture.g)"])
            #expect(env.reset(seed: 0) == fixture.first_observation, "case \(index)")
            let pendulum = (env as! TimeLimit<Pendulum>).inner
            #expect(fixture.actions.count == 200 && fixture.truncated.last == true, "case \(index)")
            for (step, action) in fixture.actions.enumerated() {
                let (observation, result) = env.step([action])
                let state = pendulum.state
                for (mine, theirs) in zip([state.theta, state.thetaDot], fixture.states[step]) {
                    worstState = max(worstState, abs(mine - theirs) / max(1, abs(theirs)))
                }
                #expect(observation == fixture.observations[step], "case \(index) step \(step + 1)")
                #expect(result.reward == Float(fixture.rewards[step]), "case \(index) step \(step + 1)")
                #expect(result.terminated == fixture.terminated[step], "case \(index) step \(step + 1)")
                #expect(result.truncated == fixture.truncated[step], "case \(index) step \(step + 1)")
            }
        }
        #expect(worstState <= 1e-12, "float64 states differ by \(worstState)")
    }

    @Test("Angles wrap into [−π, π) as NumPy's floored remainder does")
    func angleNormalization() {
        #expect(Pendulum.normalizedAngle(0) == 0)
        #expect(Pendulum.normalizedAngle(Double.pi) == -Double.pi)
        #expect(Pendulum.normalizedAngle(-Double.pi) == -Double.pi)
        #expect(abs(Pendulum.normalizedAngle(7.5) - (7.5 - 2 * Double.pi)) < 1e-12)
        #expect(abs(Pendulum.normalizedAngle(-7.5) - (-7.5 + 2 * Double.pi)) < 1e-12)
        #expect(Pendulum.normalizedAngle(-3 * Double.pi).sign == .minus)
    }

    @Test("Seeded resets draw θ in [−π, π] and θ̇ in [−1, 1] from Dojo's generator; the state option fixes the start")
    func resets() throws {
        let env = try Pendulum()
        var thetas: [Double] = [], speeds: [Double] = []
        for seed in 0..<400 as Range<UInt64> {
            _ = env.reset(seed: seed)
            thetas.append(env.state.theta)
            speeds.append(env.state.thetaDot)
        }
        #expect(thetas.allSatisfy { abs($0) <= Double.pi } && speeds.allSatisfy { abs($0) <= 1 })
        #expect(thetas.min()! < -2.5 && thetas.max()! > 2.5 && speeds.min()! < -0.8 && speeds.max()! > 0.8)
        let a = try Pendulum(), b = try Pendulum()
        #expect(a.reset(seed: 5) == b.reset(seed: 5) && a.stateChecksum == b.stateChecksum)
        let fixed = try Pendulum(options: ["state": "0.5,-1.5"])
        #expect(fixed.reset(seed: 3) == [Float(cos(0.5)), Float(sin(0.5)), -1.5])
        #expect(throws: OptionError.self) { try Pendulum(options: ["state": "0,9"]) }
        #expect(throws: OptionError.self) { try Pendulum(options: ["g": "-1"]) }
    }

    @Test("Save and restore continue exactly; hostile saved states are refused")
    func saveRestore() throws {
        let env = try Pendulum()
        _ = env.reset(seed: 11)
        for k in 0..<30 { _ = env.step([Float(k % 5) - 2]) }
        let saved = env.saveState()
        let copy = try Pendulum()
        try copy.restoreState(saved)
        #expect(copy.stateChecksum == env.stateChecksum)
        for k in 0..<30 {
            let action: [Float] = [Float(k % 3) - 1.5]
            let (o1, r1) = env.step(action), (o2, r2) = copy.step(action)
            #expect(o1 == o2 && r1 == r2)
        }
        #expect(copy.stateChecksum == env.stateChecksum)
        // Fresh after reset: no torque yet, which info leaves out.
        _ = copy.reset(seed: 1)
        #expect(copy.info["torque"] == nil && copy.info["theta"] == copy.state.theta)
        try env.restoreState(copy.saveState())
        #expect(env.stateChecksum == copy.stateChecksum)
        var bad = saved
        bad[1] = Double(9).bitPattern
        #expect(throws: SimulationError.self) { try copy.restoreState(bad) }
        bad = saved
        bad[2] = UInt64(Float(3).bitPattern)
        #expect(throws: SimulationError.self) { try copy.restoreState(bad) }
        #expect(throws: SimulationError.self) { try copy.restoreState(Array(saved.dropLast())) }
    }

    @Test("info reports θ, θ̇, the clipped torque and the distance from upright; the frame shows rod and torque")
    func infoAndRendering() throws {
        let env = try Pendulum(options: ["state": "\(Double.pi),0"])
        _ = env.reset(seed: 0)
        let hanging = env.renderFrame()
        _ = env.step([5])
        let info = env.info
        #expect(info["torque"] == 2)
        #expect(abs(info["angle_error"]! - (Double.pi - 0.015)) < 1e-12)  // θ̇ = 6 · 0.05, θ = π + 0.3 · 0.05
        #expect(info["theta_dot"] == env.state.thetaDot)
        let pushed = env.renderFrame()
        #expect((hanging.width, hanging.height) == (500, 500))
        // The rod hangs below the pivot (red pixels there), and the torque arrow is drawn only once there is one.
        let below = hanging.pixel(x: 250, y: 250 + 60)
        #expect(below.r > 150 && below.g < 120)
        var differing = 0
        for y in 0..<500 { for x in 0..<500 where hanging.pixel(x: x, y: y) != pushed.pixel(x: x, y: y) { differing += 1 } }
        #expect(differing > 100)
    }
}
