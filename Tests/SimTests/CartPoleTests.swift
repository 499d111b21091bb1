@testable import Environments
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

    @Test("Copies stepped in lanes play what each plays alone, past termination too, and after moving to another stepper",
          arguments: [[:], ["integrator": "semi-implicit"], ["sutton_barto_reward": "true", "velocity": "false"]])
    func lanesMatchEachCopyAlone(options: [String: String]) throws {
        let count = 10  // two groups of four and a tail of two
        let laned = try (0..<count).map { _ in try CartPole(options: options) }
        let alone = try (0..<count).map { _ in try CartPole(options: options) }
        var stepper = try #require(CartPole.batchStepper(for: laned))
        #expect(laned.allSatisfy { $0.states === laned[0].states } && laned[0].states.isCurrent, "the lanes' block holds every copy")
        let size = laned[0].observationSpace.flatCount
        var observations = [Float](repeating: 0, count: count * size), actions = [Float](repeating: 0, count: count)
        var results = [StepResult](repeating: StepResult(reward: 0, terminated: false), count: count)
        for copy in 0..<count {
            observations.replaceSubrange(copy * size..<(copy + 1) * size, with: laned[copy].reset(seed: UInt64(copy)))
            #expect(alone[copy].reset(seed: UInt64(copy)) == Array(observations[copy * size..<(copy + 1) * size]))
        }
        var terminations = 0
        for step in 0..<80 {
            if step == 40 {
                // A second stepper gathers the copies into its own block; the first must still step them correctly.
                _ = try #require(CartPole.batchStepper(for: laned))
            }
            if step == 60 { stepper = try #require(CartPole.batchStepper(for: laned)) }
            for copy in 0..<count { actions[copy] = (step + copy) % 3 == 0 ? 0 : 1 }  // mostly right: the pole falls
            stepper.step(0..<count, actions: actions, observations: &observations, results: &results)
            for copy in 0..<count {
                let (observation, result) = alone[copy].step([actions[copy]])
                #expect(Array(observations[copy * size..<(copy + 1) * size]).map(\.bitPattern) == observation.map(\.bitPattern),
                        "step \(step) copy \(copy)")
                #expect(results[copy] == result, "step \(step) copy \(copy)")
                #expect(laned[copy].stateChecksum == alone[copy].stateChecksum, "step \(step) copy \(copy)")
                if result.terminated { terminations += 1 }
            }
        }
        // Never reset: each copy terminates once, then keeps being stepped beyond termination.
        #expect(terminations > count * 40, "the copies should be stepped well past termination")
    }
}

