import Foundation
import Neural
import Testing
import TestSupport
@testable import Training

/// `dojo train --profile`: the phases add up to the run's wall-clock and each trainer charges its parts.
@Suite(.serialized) struct ProfileTests {
    init() { pinBLASToOneThread() }

    /// Small runs of each trainer: DQN, PPO, SAC.
    static let runs: [(String, RunConfig)] = [("dqn", smallRun(steps: 2_000)), ("ppo", smallActorCriticRun(env: "cartpole")),
                                              ("sac", smallOffPolicyRun(agent: "sac"))]

    @Test("The phases add up to the run's wall-clock, and environment, acting, learning, logging, evaluation and checkpoints are all charged",
          arguments: [0, 1, 2])
    func phasesAddUp(run: Int) throws {
        let (name, config) = Self.runs[run]
        let trainer = try makeTrainer(config: config, directory: temporaryDirectory("profile-\(name)"))
        let clock = PhaseClock()
        trainer.clock = clock
        let started = Date()
        _ = try trainer.run(progress: nil, stopAt: nil)
        let wall = Date().timeIntervalSince(started), total = clock.total()
        #expect(abs(total - wall) < 0.05 * wall + 0.01, "\(name): phases add to \(total) s, the run took \(wall) s")
        for phase: PhaseClock.Phase in [.environment, .acting, .sampling, .forward, .backward, .optimizer, .logging, .evaluation,
                                        .checkpoint] {
            #expect(clock.seconds[phase.rawValue] > 0 && clock.entries[phase.rawValue] > 0, "\(name): nothing charged to \(phase.name)")
        }
        #expect(clock.report(steps: trainer.step).contains("network work"))
    }

    @Test("Timed products are charged to the phases that compute them, on the profiled thread only")
    func productsCharged() throws {
        let trainer = try makeTrainer(config: smallActorCriticRun(env: "cartpole"), directory: temporaryDirectory("profile-products"))
        let clock = PhaseClock()
        clock.timeProducts(true)
        trainer.clock = clock
        // Another thread's products while the run is profiled: never charged to this thread's clock.
        let other = Thread {
            let a = [Float](repeating: 1, count: 64 * 64)
            var c = [Float](repeating: 0, count: 64 * 64)
            for _ in 0..<2_000 { gemm(.none, .none, m: 64, n: 64, k: 64, a: a, lda: 64, b: a, ldb: 64, c: &c, ldc: 64) }
        }
        other.start()
        _ = try trainer.run(progress: nil, stopAt: nil)
        clock.timeProducts(false)
        for phase in PhaseClock.Phase.allCases {
            let i = phase.rawValue
            #expect(clock.productSeconds[i] <= clock.seconds[i] + 1e-6, "\(phase.name): products outlast the phase")
            let computes = [.acting, .forward, .backward, .evaluation].contains(phase)
            #expect((clock.productCalls[i] > 0) == computes, "\(phase.name): \(clock.productCalls[i]) products")
            if clock.productCalls[i] > 0 { #expect(clock.productMultiplyAdds[i] >= Double(clock.productCalls[i])) }
        }
        #expect(clock.report(steps: trainer.step).contains("matrix products"))
        // Stopped: this thread's products are no longer charged.
        let calls = clock.productCalls.reduce(0, +)
        let a = [Float](repeating: 1, count: 16)
        var c = [Float](repeating: 0, count: 16)
        gemm(.none, .none, m: 4, n: 4, k: 4, a: a, lda: 4, b: a, ldb: 4, c: &c, ldc: 4)
        #expect(clock.productCalls.reduce(0, +) == calls)
    }

    @Test("Without a clock nothing is charged and the trained weights are the same as with one")
    func clockChangesNothing() throws {
        var config = smallRun(steps: 1_000)
        config.evalFreq = 10_000
        let plain = temporaryDirectory("profile-off"), profiled = temporaryDirectory("profile-on")
        _ = try makeTrainer(config: config, directory: plain).run(progress: nil, stopAt: nil)
        let trainer = try makeTrainer(config: config, directory: profiled)
        trainer.clock = PhaseClock()
        _ = try trainer.run(progress: nil, stopAt: nil)
        let a = try Data(contentsOf: URL(fileURLWithPath: plain + "/checkpoints/last/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: profiled + "/checkpoints/last/model.safetensors"))
        #expect(a == b)
    }
}

/// The end of a budget: more evaluation episodes, and the best checkpoint judged again on them.
@Suite struct FinalEvaluationTests {
    init() { pinBLASToOneThread() }

    @Test("The last evaluation runs n_final_eval_episodes; the best checkpoint is then the better of it and the final policy on those episodes")
    func finalEvaluation() throws {
        var config = smallRun(steps: 2_000)
        config.evalFreq = 1_000
        config.nEvalEpisodes = 2
        config.nFinalEvalEpisodes = 7
        let directory = temporaryDirectory("final-evaluation")
        let trainer = try DQNTrainer(config: config, directory: directory)
        let summary = try trainer.run()
        let rows = try metricsLines(directory).filter { $0["eval_episodes"] != nil }
        #expect(rows.map { $0["eval_episodes"] as? Int } == [2, 7], "\(rows)")
        let final = try #require(summary.lastEvaluation)
        #expect(final.returns.count == 7)
        // The best checkpoint's figure is now its return on the final episodes, at least the final policy's.
        let best = try TrainedRun(directory: directory, checkpoint: "best")
        let bestOnFinalEpisodes = try trainer.evaluate(best.policy, episodes: 7).result.meanReturn
        #expect(summary.bestEvaluationReturn == bestOnFinalEpisodes)
        #expect(bestOnFinalEpisodes >= final.meanReturn)
    }
}
