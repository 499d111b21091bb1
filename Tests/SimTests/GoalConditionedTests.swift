@testable import Environments
import Foundation
import Sim
import Testing
import TestSupport

@Suite struct DictionarySpaceTests {
    let space = Space.dictionary(["observation": .box(low: -1, high: 1, shape: [3]), "desired_goal": .box(low: 0, high: 2, shape: [2]),
                                  "achieved_goal": .box(low: -5, high: 5, shape: [2])])

    @Test("A dictionary space sorts its keys as Gymnasium's Dict does and lays its parts out flat in that order")
    func layout() throws {
        guard case .dict(let keys, let spaces) = space else { Issue.record("not a dict: \(space)"); return }
        #expect(keys == ["achieved_goal", "desired_goal", "observation"])
        #expect(spaces.map(\.flatCount) == [2, 2, 3])
        #expect(space.flatCount == 7 && space.shape == [7] && space.actionWidth == 7)
        #expect(space.part("achieved_goal")! == (0, 2) && space.part("desired_goal")! == (2, 2) && space.part("observation")! == (4, 3))
        #expect(space.part("reward") == nil && Space.box(low: 0, high: 1, shape: [2]).part("observation") == nil)
        #expect(Space.dictionary(["b": .discrete(2), "B": .discrete(3), "a": .discrete(4)]) ==
                .dict(keys: ["B", "a", "b"], spaces: [.discrete(3), .discrete(4), .discrete(2)]))
        #expect(space.description == "Dict(achieved_goal: Box(-5.0, 5.0, shape: [2]), desired_goal: Box(0.0, 2.0, shape: [2]), "
                + "observation: Box(-1.0, 1.0, shape: [3]))")
        let layout = try #require(GoalLayout(space: space))
        #expect(layout.goalSize == 2 && layout.achievedOffset == 0 && layout.desiredOffset == 2 && layout.observationOffset == 4
                && layout.observationSize == 3 && layout.flatCount == 7)
        #expect(GoalLayout(space: .box(low: 0, high: 1, shape: [7])) == nil)
        #expect(GoalLayout(space: .dictionary(["achieved_goal": .box(low: 0, high: 1, shape: [2]),
                                               "desired_goal": .box(low: 0, high: 1, shape: [3]),
                                               "observation": .box(low: 0, high: 1, shape: [1])])) == nil, "goals of different sizes")
    }

    @Test("contains, validate and sample check each part against its own space")
    func membership() throws {
        let inside: [Float] = [-4, 4, 0, 2, -1, 0, 1]
        #expect(inside.withUnsafeBufferPointer { space.contains($0.baseAddress!) })
        for (index, value) in [(0, Float(-6)), (3, 2.5), (6, 1.5), (4, .nan)] {  // each part's own bounds, not the others'
            var outside = inside
            outside[index] = value
            #expect(!outside.withUnsafeBufferPointer { space.contains($0.baseAddress!) }, "\(index) = \(value)")
        }
        #expect(space.validate(action: inside) == nil)
        let problem = try #require(space.validate(action: [-4, 4, 0, 2, -1, 0, 3]))
        #expect(problem.hasPrefix("observation: component 2: 3.0"), "\(problem)")
        #expect(space.validate(action: [0, 0])?.contains("expected 7 values") == true)
        var rng = SeededGenerator(seed: 3)
        var sample = [Float](repeating: 0, count: 7)
        for _ in 0..<100 {
            space.sample(into: &sample, using: &rng)
            #expect(sample.withUnsafeBufferPointer { space.contains($0.baseAddress!) })
        }
    }

    @Test("flattened: a dictionary of boxes is one box of the concatenated bounds; other spaces stay themselves")
    func flattened() {
        #expect(space.flattened == .box(low: [-5, -5, 0, 0, -1, -1, -1], high: [5, 5, 2, 2, 1, 1, 1], shape: [7]))
        let mixed = Space.dictionary(["a": .box(low: 0, high: 1, shape: [1]), "b": .discrete(3)])
        #expect(mixed.flattened == mixed)
        #expect(Space.discrete(4).flattened == .discrete(4))
    }
}

@Suite struct GoalConditionedArmTests {
    static let tasks: [[String: String]] = [["task": "reach"], ["task": "reach", "reward": "dense"], ["task": "push"],
                                            ["task": "push", "reward": "dense"], ["task": "push", "reward": "dense", "links": "3"]]

    @Test("goal=true observes Dict(achieved_goal, desired_goal, observation); the default stays one Box")
    func spaces() throws {
        let reach = try RobotArm(options: ["goal": "true"]), push = try RobotArm(options: ["goal": "true", "task": "push"])
        func box(_ n: Int) -> Space { .box(low: -.infinity, high: .infinity, shape: [n]) }
        #expect(reach.observationSpace == .dict(keys: ["achieved_goal", "desired_goal", "observation"], spaces: [box(2), box(2), box(6)]))
        #expect(push.observationSpace == .dict(keys: ["achieved_goal", "desired_goal", "observation"], spaces: [box(2), box(2), box(10)]))
        let plain = try RobotArm(options: [:]), explicit = try RobotArm(options: ["goal": "false"])
        #expect(plain.observationSpace == box(10) && reach.goalLayout == GoalLayout(space: reach.observationSpace))
        #expect(plain.goalConditioned == nil && explicit.goalConditioned == nil && explicit.observationSpace == box(10))
        #expect(reach.goalConditioned === reach)
    }

    @Test("The goals in the observation are the fingertip or the disc and the target, and the rest is the arm's state")
    func observationParts() throws {
        for task in ["reach", "push"] {
            let env = try RobotArm(options: ["goal": "true", "task": task, "links": "3"])
            var observation = env.reset(seed: 4)
            var rng = SeededGenerator(seed: 9)
            var action = [Float](repeating: 0, count: 3)
            for _ in 0..<40 {
                env.actionSpace.sample(into: &action, using: &rng)
                observation = env.step(action).observation
            }
            let achieved = task == "reach" ? env.fingertip : (env.disc.x, env.disc.y)
            #expect(Array(observation[0..<4]) == [Float(achieved.0), Float(achieved.1), Float(env.target.x), Float(env.target.y)])
            #expect(Array(observation[4..<13]) == env.joints.map { Float(cos($0)) } + env.joints.map { Float(sin($0)) }
                    + env.jointVelocities.map { Float($0) })
            if task == "push" {
                #expect(Array(observation[13...]) == [Float(env.fingertip.x - env.disc.x), Float(env.fingertip.y - env.disc.y),
                                                      Float(env.disc.vx), Float(env.disc.vy)])
            }
        }
    }

    @Test("Over random episodes every step's reward is computeReward of the goals it observes, bit for bit, through the registry's wrappers",
          arguments: tasks.indices)
    func rewardIsComputeReward(index: Int) throws {
        let options = Self.tasks[index].merging(["goal": "true"]) { $1 }
        let env = AnyEnvironment(EpisodeStatistics(AnyEnvironment(try EnvironmentRegistry.make("arm", options: options))))
        let goals = try #require(env.goalConditioned)
        let layout = goals.goalLayout
        let arm = try #require(innermostEnvironment((env.base as! EpisodeStatistics<AnyEnvironment>).inner.base) as? RobotArm)
        let sparse = options["reward"] != "dense"
        var rng = SeededGenerator(seed: UInt64(index), stream: 5)
        var action = [Float](repeating: 0, count: env.actionSpace.actionWidth)
        for episode in 0..<12 {
            var observation = env.reset(seed: UInt64(100 + episode))
            var achieved: [Float] = [], desired: [Float] = [], rewards: [Float] = []
            var steps = 0
            while true {
                env.actionSpace.sample(into: &action, using: &rng)
                let (next, result) = env.step(action)
                observation = next
                steps += 1
                let a = Array(observation[layout.achievedOffset..<(layout.achievedOffset + 2)])
                let d = Array(observation[layout.desiredOffset..<(layout.desiredOffset + 2)])
                let single = goals.computeReward(achieved: a, desired: d)
                let recomputed: Float = single[0]
                #expect(recomputed.bitPattern == result.reward.bitPattern, "episode \(episode) step \(steps): \(result.reward) vs \(recomputed)")
                achieved += a; desired += d; rewards.append(result.reward)
                if sparse {
                    #expect(result.reward == -1 || result.reward == 0)
                    // info's success is decided in double precision from the state; away from the edge they agree.
                    if abs(arm.distance - arm.successDistance) > 1e-5 {
                        #expect(result.reward == (arm.distance > arm.successDistance ? -1 : 0))
                        #expect((result.reward == 0) == (env.info["success"] == 1))
                    }
                } else {
                    #expect(abs(Double(result.reward) + arm.distance) < 1e-6)
                }
                #expect(!result.terminated, "goal tasks never terminate")
                if result.done {
                    #expect(result.truncated && steps == arm.maxSteps)
                    break
                }
            }
            // The batched call gives the same rewards as the steps did.
            let batched: [Float] = goals.computeReward(achieved: achieved, desired: desired)
            #expect(batched.map { $0.bitPattern } == rewards.map { $0.bitPattern })
            // Relabelled with the last achieved goal (hindsight), the last step succeeds.
            let last = Array(achieved.suffix(2))
            #expect(goals.computeReward(achieved: last, desired: last) == [0])
        }
    }

    @Test("Sparse is −1 beyond success_distance and 0 within; dense is minus the distance")
    func rewardValues() throws {
        let sparse = try RobotArm(options: ["goal": "true"]), dense = try RobotArm(options: ["goal": "true", "reward": "dense", "task": "push"])
        #expect(sparse.computeReward(achieved: [0, 0, 0.1, 0.1, 0.05, 0], desired: [0.03, 0, 0.1, 0.11, 0.05, 0.02]) == [-1, 0, 0])
        #expect(try RobotArm(options: ["goal": "true", "success_distance": "0.05"]).computeReward(achieved: [0, 0], desired: [0.03, 0]) == [0])
        let rewards = dense.computeReward(achieved: [0, 0, 0.3, 0.4], desired: [0, 0, 0, 0])
        #expect(rewards[0].bitPattern == Float(0).bitPattern && abs(rewards[1] + 0.5) < 1e-7)
    }

    @Test("A goal task plays the plain task's dynamics and draws: same seed and actions, same state")
    func sameDynamics() throws {
        for task in ["reach", "push"] {
            let plain = try RobotArm(options: ["task": task]), goal = try RobotArm(options: ["task": task, "goal": "true"])
            _ = plain.reset(seed: 8)
            _ = goal.reset(seed: 8)
            var rng = SeededGenerator(seed: 1)
            var action: [Float] = [0, 0]
            for _ in 0..<100 {
                plain.actionSpace.sample(into: &action, using: &rng)
                _ = plain.step(action)
                _ = goal.step(action)
                #expect(plain.stateChecksum == goal.stateChecksum && plain.info == goal.info)
            }
        }
    }

    @Test("reward without goal=true and control_cost with it are refused")
    func options() {
        #expect(throws: OptionError.self) { try RobotArm(options: ["reward": "dense"]) }
        #expect(throws: OptionError.self) { try RobotArm(options: ["goal": "true", "control_cost": "0.1"]) }
        #expect(throws: OptionError.self) { try RobotArm(options: ["goal": "true", "reward": "shaped"]) }
    }

    @Test("goalConditioned passes through wrappers that keep observations and rewards, and stops at those that change them")
    func wrappers() throws {
        let arm = try RobotArm(options: ["goal": "true"])
        #expect(TimeLimit(arm, maxSteps: 5).goalConditioned === arm)
        #expect(AnyEnvironment(EpisodeStatistics(TimeLimit(arm, maxSteps: 5))).goalConditioned === arm)
        #expect(ActionRepeat(arm, count: 1).goalConditioned === arm)
        #expect(ActionRepeat(arm, count: 2).goalConditioned == nil)
        #expect(NormalizeObservation(arm).goalConditioned == nil)
        #expect(FrameStack(arm, count: 2).goalConditioned == nil)
        #expect(AnyEnvironment(try EnvironmentRegistry.make("cartpole")).goalConditioned == nil)
    }

    @Test("computeReward allocates nothing")
    func noAllocation() throws {
        let goals = try #require(try EnvironmentRegistry.make("arm", options: ["goal": "true", "task": "push"]).goalConditioned)
        let achieved = [Float](repeating: 0.1, count: 512), desired = [Float](repeating: 0.12, count: 512)
        var rewards = [Float](repeating: 1, count: 256)
        let allocations = rewards.withUnsafeMutableBufferPointer { out in
            allocationCount { goals.computeReward(achieved: achieved, desired: desired, count: 256, into: out.baseAddress!) }
        }
        #expect(allocations == 0 && rewards.allSatisfy { $0 == 0 })
    }

    @Test("The checker catches a goal environment whose step reward is not computeReward's")
    func checkerCatchesAMismatch() throws {
        let problems = EnvironmentChecker.check(steps: 50) { OffReward(try! RobotArm(options: ["goal": "true", "reward": "dense"])) }
        #expect(problems.contains { $0.contains("computeReward of its goals gives") }, "\(problems)")
        #expect(EnvironmentChecker.check(steps: 50) { try! RobotArm(options: ["goal": "true", "reward": "dense"]) }.isEmpty)
    }
}

/// Adds a little to every reward but still claims the inner environment's goal reward (a broken wrapper).
private final class OffReward<Inner: Environment>: EnvironmentWrapper {
    let inner: Inner
    init(_ inner: Inner) { self.inner = inner }
    func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        var result = inner.step(action, observation: observation)
        result.reward += 0.001
        return result
    }
}
