import Environments
import Foundation
import Sim
import Testing
import TestSupport
@testable import Training

@Suite(.serialized) struct WatchSessionTests {
    init() { pinBLASToOneThread() }

    /// A short DQN run on cart-pole (3,000 steps): far from solved, but its greedy policy already pushes both ways,
    /// so the argmax changes from state to state.
    static func trainedRun() throws -> TrainedRun {
        var config = RunConfig()
        config.env = "cartpole"
        config.totalTimesteps = 3_000
        config.seed = 11
        config.evalFreq = 1_500
        config.nEvalEpisodes = 2
        config.logInterval = 1_000
        config.dqn.learningStarts = 200
        config.dqn.batchSize = 32
        config.dqn.bufferSize = 3_000
        config.dqn.netArch = [32, 32]
        config.dqn.targetUpdateInterval = 100
        let directory = temporaryDirectory("watch-hud")
        _ = try makeTrainer(config: config, directory: directory).run(progress: nil, stopAt: nil)
        return try TrainedRun(directory: directory)
    }

    @Test("HUD: for a greedy DQN the highlighted action is the argmax of the displayed Q-values on every step")
    func highlightedActionIsGreedy() throws {
        let session = try WatchSession(driver: .trained(try Self.trainedRun()), seed: 5)
        var checked = 0, laterStateDisagrees = 0
        var previousChosen: Int?
        for _ in 0..<3 {
            var display = session.display
            #expect(display.chosen == nil && display.action == "-" && display.bars.count == 2)
            while session.advance() {
                display = session.display
                let values = display.bars.map(\.value)
                let argmax = try #require(values.indices.max { values[$0] < values[$1] })
                let chosen = try #require(display.chosen)
                #expect(chosen == argmax, "step \(display.step): action \(display.action) highlighted beside \(values)")
                #expect(display.action == display.bars[chosen].label)
                // The values of the state the action led to (shown one step later) often prefer another action: the
                // pairing the HUD used to draw, which made a greedy agent look non-greedy.
                if let previousChosen, previousChosen != argmax { laterStateDisagrees += 1 }

                previousChosen = chosen
                checked += 1
            }
            previousChosen = nil
            session.nextEpisode()
        }
        #expect(checked >= 20, "\(checked) steps, \(laterStateDisagrees) disagreements")
        #expect(laterStateDisagrees > 0, "every next state agreed with the action before it; the test would not tell the timings apart")
    }

    @Test("HUD for SAC on a goal task: the policy's action equals the action taken, within the bounds, with its spread; the goal line shows the observed goals")
    func continuousPolicyAndGoal() throws {
        var config = RunConfig()
        config.env = "arm"
        config.envOptions = ["task": "reach", "goal": "true", "reward": "dense"]
        config.use("sac")
        config.totalTimesteps = 400
        config.seed = 2
        config.evalFreq = 400
        config.nEvalEpisodes = 1
        config.sac.learningStarts = 100; config.sac.batchSize = 16; config.sac.netArch = [16]
        let directory = temporaryDirectory("watch-sac")
        _ = try makeTrainer(config: config, directory: directory).run(progress: nil, stopAt: nil)
        let session = try WatchSession(driver: .trained(try TrainedRun(directory: directory)), seed: 3)
        var steps = 0
        while session.advance(), steps < 10 {
            steps += 1
            let lines = session.display.lines
            let policy = try #require(lines.first { $0.hasPrefix("POLICY ") })
            // The display's action is the one the policy chose in the state before the step, as the HUD shows it.
            #expect(session.actionMeans.count == 2 && session.actionSpreads.count == 2)
            #expect(session.display.action == session.actionMeans.map { String(format: "%.2f", $0) }.joined(separator: " "))
            #expect(session.actionMeans.allSatisfy { (-0.5...0.5).contains($0) }, "torques beyond ±torque_limit: \(policy)")
            #expect(session.actionSpreads.allSatisfy { $0 >= 0 })
            let goal = try #require(lines.first { $0.hasPrefix("GOAL ") })
            #expect(goal.contains("ACHIEVED"))
        }
        #expect(steps == 10)
    }

    @Test("Highway: a step leaves its simulation frames pending, shown before the state after the step")
    func highwayIntermediateFrames() throws {
        let session = try WatchSession(driver: .random, environment: "highway", options: ["scenario": "highway-fast"], seed: 2)
        #expect(session.metadata.framesPerStep == 5 && session.pendingFrames == 0)
        let before = session.currentFrame().frame
        #expect(session.advance())
        #expect(session.pendingFrames == 4 && session.stepsTaken == 1)
        var frames = [before]
        while session.pendingFrames > 0 {
            frames.append(session.currentFrame().frame)
            session.showNextFrame()
        }
        frames.append(session.currentFrame().frame)
        #expect(frames.count == 6)
        // Each frame differs from the one before it (the traffic moves between decisions).
        for k in 1..<frames.count { #expect(frames[k].pixels != frames[k - 1].pixels, "frame \(k) repeats frame \(k - 1)") }
        #expect(session.advance())
        session.skipPendingFrames()
        #expect(session.pendingFrames == 0 && session.stepsTaken == 2)
    }

    @Test("A highway replay shows the same frames between decisions as the episode it recorded")
    func replayIntermediateFrames() throws {
        let live = try WatchSession(driver: .random, environment: "highway", options: ["scenario": "highway-fast"], seed: 4)
        var liveFrames: [[UInt8]] = [], actions: [[Float]] = []
        for _ in 0..<3 {
            #expect(live.advance())
            actions.append(live.lastAction)
            while live.pendingFrames > 0 { liveFrames.append(live.currentFrame().frame.pixels); live.showNextFrame() }
            liveFrames.append(live.currentFrame().frame.pixels)
        }
        // The same episode recorded as a replay (the session's first episode is seeded with its seed).
        let env = try EnvironmentRegistry.make("highway", options: ["scenario": "highway-fast"])
        _ = env.reset(seed: 4)
        var recorder = ReplayRecorder(environment: env, seed: 4)
        for action in actions {
            let (_, result) = env.step(action)
            recorder.record(action: action, result: result, environment: env)
        }
        let replayed = try WatchSession(driver: .replay(recorder.replay))
        var replayFrames: [[UInt8]] = []
        for _ in 0..<3 {
            #expect(replayed.advance())
            while replayed.pendingFrames > 0 { replayFrames.append(replayed.currentFrame().frame.pixels); replayed.showNextFrame() }
            replayFrames.append(replayed.currentFrame().frame.pixels)
        }
        #expect(replayFrames.count == 15 && replayFrames == liveFrames)
    }
}

/// Always the same discrete action.
final class ConstantPolicy: EvaluationPolicy {
    let action: Float
    init(_ action: Float) { self.action = action }
    func beginEpisode() {}
    func act(_ observation: UnsafePointer<Float>, into action: UnsafeMutablePointer<Float>) { action[0] = self.action }
}

@Suite struct EvaluationMetricsTests {
    @Test("Evaluation reports the metrics each environment declares, taken as declared (at the end, mean over steps, at the start)")
    func metricsFromMetadata() throws {
        let (highway, _) = try Evaluator.evaluate(env: "highway", options: ["scenario": "highway-fast"], seed: 1, episodes: 2,
                                                  policy: ConstantPolicy(1))
        #expect(highway.metrics.map(\.metric.name) == ["collision_rate", "mean_speed", "mean_traffic_speed"])
        #expect(highway.metrics.allSatisfy { $0.values.count == 2 })
        let collisions = try #require(highway.values(of: "collision_rate"))
        #expect(collisions.allSatisfy { $0 == 0 || $0 == 1 })
        let speed = try #require(highway.meanSpeed)
        #expect(speed > 15 && speed < 35, "\(speed)")
        #expect(highway.details.count == 3 && highway.details[0].hasPrefix("collisions ") && highway.details[1].hasSuffix(" m/s"))
        // Gridworld: success at the end, the best reachable return at the start; the summary leaves the latter out.
        let (grid, _) = try Evaluator.evaluate(env: "gridworld", options: ["map": "empty", "max_steps": "20"], seed: 1, episodes: 2,
                                               policy: ConstantPolicy(0))
        #expect(grid.successRate == 0 && grid.values(of: "optimal_return")?.count == 2 && (grid.meanOptimalReturn ?? 0) > 0)
        #expect(grid.details == ["success 0.0%"])
        // Cart-pole declares none.
        let (cartpole, _) = try Evaluator.evaluate(env: "cartpole", options: [:], seed: 1, episodes: 1, policy: ConstantPolicy(0))
        #expect(cartpole.metrics.isEmpty && cartpole.details.isEmpty && cartpole.successRate == nil)
    }
}
