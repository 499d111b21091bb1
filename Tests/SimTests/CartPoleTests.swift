import Environments
import Foundation
import Sim
import Testing
import TestSupport

/// Cart-pole against Gymnasium CartPole-v1 fixtures (scripts/make_gym_fixtures.py): whole episodes from given
/// initial states and action sequences, termination and truncation steps included.
@Suite struct CartPoleTests {
    struct Case: Decodable {
        let initial: [Double]
        let integrator: String
        let actions: [Int]
        let states: [[Double]]
        let observations: [[Float]]
        let rewards: [Float]
        let terminated: [Bool]
        let truncated: [Bool]
    }
    struct FixtureFile: Decodable { let cases: [Case] }

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gym/cartpole.json")))
        return try JSONDecoder().decode(FixtureFile.self, from: data).cases
    }

    @Test("Whole episodes match Gymnasium: states, float32 observations, rewards, termination and truncation")
    func matchesGymnasium() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 10 && cases.contains { $0.truncated.last == true } && cases.contains { $0.terminated.last == true })
        var worstState = 0.0
        for (index, fixture) in cases.enumerated() {
            let env = try EnvironmentRegistry.make("cartpole", options: [
                "state": fixture.initial.map { "\($0)" }.joined(separator: ","), "integrator": fixture.integrator])
            let first = env.reset(seed: 0)
            #expect(first == fixture.initial.map { Float($0) })
            let cartPole = (env as! TimeLimit<CartPole>).inner
            for (step, action) in fixture.actions.enumerated() {
                let (observation, result) = env.step([Float(action)])
                let state = cartPole.state
                for (mine, theirs) in zip([state.x, state.xDot, state.theta, state.thetaDot], fixture.states[step]) {
                    worstState = max(worstState, abs(mine - theirs) / max(1, abs(theirs)))
                }
                #expect(observation == fixture.observations[step], "case \(index) step \(step + 1)")
                #expect(result.reward == fixture.rewards[step], "case \(index) step \(step + 1)")
                #expect(result.terminated == fixture.terminated[step], "case \(index) step \(step + 1)")
                #expect(result.truncated == fixture.truncated[step], "case \(index) step \(step + 1)")
            }
        }
        #expect(worstState <= 1e-12, "float64 states differ by \(worstState)")
    }

    @Test("The masked-velocity variant observes x and θ only")
    func maskedVelocity() throws {
        let env = try CartPole(options: ["velocity": "false", "state": "0.01,0.5,-0.02,0.3"])
        #expect(env.observationSpace.flatCount == 2)
        #expect(env.reset(seed: 1) == [0.01, -0.02])
        let (observation, _) = env.step([1])
        #expect(observation == [Float(env.state.x), Float(env.state.theta)])
    }
}
