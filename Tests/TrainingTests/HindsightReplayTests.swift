import Agents
import Sim
import Testing
import TestSupport

/// A ring of 2 copies whose observations are [achieved goal, desired goal, marker]: copy c's episode e at step t
/// achieves 1000c + 100e + t before the step and one more after it, so every goal names its copy, episode and step.
private func filledRing(steps: Int, strategy: HindsightReplayBuffer.Strategy, episodeLengths: [[Int]], vectorSteps: Int)
    -> HindsightReplayBuffer {
    let space = Space.dictionary(["achieved_goal": .box(low: -1e6, high: 1e6, shape: [1]),
                                  "desired_goal": .box(low: -1e6, high: 1e6, shape: [1]),
                                  "observation": .box(low: -1, high: 1, shape: [1])])
    let buffer = TransitionBuffer(capacity: steps * 2, copies: 2, observationSpace: space, observationKind: .continuous, actionWidth: 1)
    let her = HindsightReplayBuffer(buffer: buffer, layout: GoalLayout(space: space)!,
                                    strategy: strategy, sampledGoals: 4, batchSize: 64) { achieved, desired, count, rewards in
        for k in 0..<count { rewards[k] = abs(achieved[k] - desired[k]) < 0.5 ? 0 : -1 }
    }
    var episode = [0, 0], step = [0, 0]
    for _ in 0..<vectorSteps {
        for copy in 0..<2 {
            let lengths = episodeLengths[copy], length = lengths[episode[copy] % lengths.count]
            let base = Float(1000 * copy + 100 * episode[copy] + step[copy])
            var observation: [Float] = [base, 7, 0], next: [Float] = [base + 1, 7, 0], action: [Float] = [0]
            step[copy] += 1
            let ended = step[copy] == length
            her.store(copy: copy, observation: &observation, action: &action, reward: -1, nextObservation: &next,
                      terminated: false, ended: ended)
            if ended { episode[copy] += 1; step[copy] = 0 }
        }
        her.advance()
    }
    return her
}

@Suite struct HindsightReplayTests {
    @Test("Relabelled goals come from the same episode (future: this step or later; final: its last step; episode: any), rewards are recomputed, the rest stay real",
          arguments: HindsightReplayBuffer.Strategy.allCases)
    func relabelling(strategy: HindsightReplayBuffer.Strategy) {
        // Copy 0 episodes of 3, 2 and 4 steps; copy 1 of 5; 23 vector steps leave both copies inside an episode.
        let her = filledRing(steps: 40, strategy: strategy, episodeLengths: [[3, 2, 4], [5]], vectorSteps: 23)
        let batch = TransitionBuffer.Batch(size: 64, observationSize: 3, actionWidth: 1)
        var rng = SeededGenerator(seed: 4)
        var sawGoalAhead = false
        for _ in 0..<20 {
            her.sample(into: batch, using: &rng)
            let relabelled = Int(0.8 * 64)
            for k in 0..<64 {
                let achieved = batch.observations[3 * k], next = batch.nextObservations[3 * k]
                let copy = Int(achieved) / 1000, episode = (Int(achieved) % 1000) / 100, t = Int(achieved) % 100
                #expect(next == achieved + 1)
                // Never from the running episode: copy 0 runs episode 8 (3+2+4 = 9 steps per cycle), copy 1 episode 4.
                #expect(episode < (copy == 0 ? 8 : 4), "sampled an unfinished episode: \(achieved)")
                let goal = batch.observations[3 * k + 1]
                #expect(batch.nextObservations[3 * k + 1] == goal)
                guard k < relabelled else {
                    #expect(goal == 7 && batch.rewards[k] == -1)
                    continue
                }
                let goalCopy = Int(goal) / 1000, goalEpisode = (Int(goal) % 1000) / 100, goalStep = Int(goal) % 100 - 1
                #expect(goalCopy == copy && goalEpisode == episode, "goal \(goal) from another episode than \(achieved)")
                let length = copy == 1 ? 5 : [3, 2, 4][episode % 3]
                switch strategy {
                case .final: #expect(goalStep == length - 1)
                case .future: #expect(goalStep >= t && goalStep < length)
                case .episode: #expect(goalStep >= 0 && goalStep < length)
                }
                if goalStep > t { sawGoalAhead = true }
                #expect(batch.rewards[k] == (goal == next ? 0 : -1))
            }
        }
        #expect(sawGoalAhead)
    }

    @Test("When the ring overwrites an episode's first step the whole episode is dropped; the kept count stays exact and the bookkeeping round-trips")
    func ringDropsWholeEpisodes() throws {
        // 10 rows; copy 0 episodes of 4 steps, copy 1 of 3; 27 vector steps wrap the ring twice.
        let her = filledRing(steps: 10, strategy: .future, episodeLengths: [[4], [3]], vectorSteps: 27)
        let lengths = Array(UnsafeBufferPointer(start: her.episodeLengths, count: 20))
        #expect(her.validCount == lengths.filter { $0 > 0 }.count)
        // Copy 0: steps 24..26 run episode 6; rows hold steps 17...26, so episode 4 (16...19) lost its first step and
        // is gone, episode 5 (20...23) is kept: 4 kept slots. Copy 1: episodes of 3 → steps 18...20 and 21...23 kept,
        // 24...26 finished too (27 = 9 × 3): 9 kept, step 17 belongs to episode 5 (15...17), dropped.
        #expect(lengths.enumerated().filter { $0.offset % 2 == 0 && $0.element > 0 }.count == 4)
        #expect(lengths.enumerated().filter { $0.offset % 2 == 1 && $0.element > 0 }.count == 9)
        let saved = her.savedBookkeeping
        let copy = filledRing(steps: 10, strategy: .future, episodeLengths: [[4], [3]], vectorSteps: 27)
        #expect(copy.restore(bookkeeping: saved) == nil && copy.savedBookkeeping == saved && copy.validCount == her.validCount)
        // Altered bookkeeping is refused with a reason and changes nothing.
        var bad = saved
        bad[20 + 3] = 11
        #expect(copy.restore(bookkeeping: bad) != nil)
        #expect(copy.restore(bookkeeping: Array(saved.dropLast())) != nil)
        #expect(copy.savedBookkeeping == saved)
    }
}

@Suite struct OffPolicyAllocationTests {
    @Test("A steady-state SAC or TD3 gradient step (sampling, relabelling, normalizing, updating) and acting make no heap allocation",
          arguments: [OffPolicyAgent.Algorithm.sac, .td3])
    func noAllocation(algorithm: OffPolicyAgent.Algorithm) {
        let space = Space.dictionary(["achieved_goal": .box(low: -1, high: 1, shape: [2]), "desired_goal": .box(low: -1, high: 1, shape: [2]),
                                      "observation": .box(low: -1, high: 1, shape: [3])])
        var config = algorithm == .sac ? OffPolicyConfig.sac : OffPolicyConfig.td3
        config.batchSize = 32; config.netArch = [16, 16]; config.policyDelay = 2
        var rng = SeededGenerator(seed: 6)
        let agent = OffPolicyAgent(algorithm: algorithm, config: config, observationSpace: space,
                                   actionSpace: .box(low: -1, high: 1, shape: [2]), rng: &rng)
        agent.observationStatistics = RunningStatistics(size: 7)
        let buffer = TransitionBuffer(capacity: 200, copies: 2, observationSpace: space, observationKind: .continuous, actionWidth: 2)
        let her = HindsightReplayBuffer(buffer: buffer, layout: GoalLayout(space: space)!, strategy: .future, sampledGoals: 4,
                                        batchSize: 32) { achieved, desired, count, rewards in
            for k in 0..<count { rewards[k] = abs(achieved[2 * k] - desired[2 * k]) < 0.1 ? 0 : -1 }
        }
        var observation = [Float](repeating: 0.1, count: 7), action: [Float] = [0.2, -0.3], actions = [Float](repeating: 0, count: 4)
        for t in 0..<120 {
            for copy in 0..<2 {
                observation[0] = Float(t) / 120
                her.store(copy: copy, observation: &observation, action: &action, reward: -1, nextObservation: &observation,
                          terminated: false, ended: t % 10 == 9)
            }
            her.advance()
        }
        var observations = observation + observation
        for _ in 0..<3 { agent.train(on: her, rng: &rng) }  // buffers grow to their size
        withUnsafeMutablePointer(to: &rng) { agent.act(&observations, rows: 2, into: &actions, rng: $0) }
        let training = allocationCount { for _ in 0..<4 { agent.train(on: her, rng: &rng) } }
        let acting = allocationCount { withUnsafeMutablePointer(to: &rng) { agent.act(&observations, rows: 2, into: &actions, rng: $0) } }
        #expect(training == 0 && acting == 0, "\(training) allocations in 4 gradient steps, \(acting) in acting")
    }
}
