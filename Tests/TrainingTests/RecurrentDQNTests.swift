import Agents
import Neural
import Sim
import Testing
import TestSupport

@Suite struct RecurrentDQNTests {
    init() { pinBLASToOneThread() }

    @Test("The LSTM Q-network passes the finite-difference gradient check over a sequence with an episode start")
    func gradients() {
        var rng = SeededGenerator(seed: 1)
        let network = RecurrentQNetwork(observationSize: 4, actionCount: 3, embedSize: 6, hiddenSize: 5, rng: &rng)
        let B = 2, T = 4
        let x = randomArray(B * T * 4, &rng), weights = randomArray(B * T * 3, &rng)
        var reset = [Float](repeating: 0, count: B * T)
        reset[1 * T + 2] = 1
        _ = network.forward(x, batch: B, steps: T, resetMask: reset)
        network.backward(weights)
        let failures = GradientCheck.check(network.namedParameters(prefix: "").map { CheckedValue($0.name, $0.parameter) },
                                           epsilon: 1e-3) {
            GradientCheck.weightedSum(network.forward(x, batch: B, steps: T, resetMask: reset), weights)
        }
        #expect(failures == [])
        #expect(network.namedParameters(prefix: "q_net.").map(\.name) == [
            "q_net.embedding.0.weight", "q_net.embedding.0.bias", "q_net.lstm.weight_ih_l0", "q_net.lstm.weight_hh_l0",
            "q_net.lstm.bias_ih_l0", "q_net.lstm.bias_hh_l0", "q_net.head.weight", "q_net.head.bias"])
    }

    @Test("Episode windows: whole short episodes from their start, long ones cut with burn-in, terminal flags, padding")
    func episodeWindows() {
        let space = Space.box(low: -10, high: 10, shape: [1])
        let buffer = EpisodeReplayBuffer(capacity: 100, observationSpace: space, observationKind: .continuous, copies: 1, stateSize: 1)
        var h: Float = 0, c: Float = 0
        // Episode A: 3 steps, terminated. Observations 0, 1, 2, final 3; rewards 10, 11, 12.
        var o: Float = 0
        buffer.begin(copy: 0, observation: &o)
        for t in 0..<3 {
            var next = Float(t + 1)
            h = Float(t); c = -Float(t)
            buffer.record(copy: 0, action: Int32(t % 2), reward: Float(10 + t), next: &next, done: t == 2, terminated: true,
                          hidden: &h, cell: &c)
        }
        // Episode B: 10 steps, truncated. Observations 100 …, rewards 0 ….
        o = 100
        buffer.begin(copy: 0, observation: &o)
        for t in 0..<10 {
            var next = Float(101 + t)
            h = Float(100 + t); c = -Float(100 + t)
            buffer.record(copy: 0, action: 0, reward: Float(t), next: &next, done: t == 9, terminated: false,
                          hidden: &h, cell: &c)
        }
        #expect(buffer.count == 2)
        let batch = EpisodeReplayBuffer.Batch(size: 64, steps: 4, observationSize: 1, stateSize: 1)
        var rng = SeededGenerator(seed: 2)
        buffer.sample(into: batch, burnIn: 2, using: &rng)
        var sawShort = false, sawCut = false
        for b in 0..<64 {
            let first = batch.observations[b * 5]
            if first == 0 {  // episode A: 3 valid steps, all trained, the last terminal, then padding
                sawShort = true
                #expect((0..<5).map { batch.observations[b * 5 + $0] } == [0, 1, 2, 3, 0])
                #expect((0..<4).map { batch.mask[b * 4 + $0] } == [1, 1, 1, 0])
                #expect((0..<4).map { batch.terminal[b * 4 + $0] } == [0, 0, 1, 0])
                #expect((0..<3).map { batch.rewards[b * 4 + $0] } == [10, 11, 12])
                #expect(batch.initialHidden[b] == 0 && batch.initialCell[b] == 0)
            } else {  // a window of episode B: 4 steps with the next observation; burn-in unless it starts at 100
                let start = Int(first) - 100
                #expect((0..<5).map { batch.observations[b * 5 + $0] } == (0..<5).map { Float(100 + start + $0) })
                let expectedMask: [Float] = start == 0 ? [1, 1, 1, 1] : [0, 0, 1, 1]
                #expect((0..<4).map { batch.mask[b * 4 + $0] } == expectedMask)
                #expect((0..<4).allSatisfy { batch.terminal[b * 4 + $0] == 0 })  // truncated: always bootstrap
                if start > 0 { sawCut = true }
                #expect(batch.initialHidden[b] == Float(100 + start) && batch.initialCell[b] == -Float(100 + start))
            }
        }
        #expect(sawShort && sawCut)
    }

    @Test("Acting carries each copy's state and resets it at episode starts")
    func actingState() {
        var config = DQNConfig()
        config.encoder = "lstm"
        config.lstmHidden = 4
        config.netArch = [5]
        var rng = SeededGenerator(seed: 3)
        let agent = RecurrentDQNAgent(config: config, observationSpace: .box(low: 0, high: 1, shape: [3]),
                                      actionSpace: .discrete(2), rng: &rng)
        var hidden = [Float](repeating: 0, count: 8), cell = [Float](repeating: 0, count: 8), actions: [Float] = [0, 0]
        let observation: [Float] = [1, 0, 1, 1, 0, 1]
        agent.greedyActions(observation, rows: 2, hidden: &hidden, cell: &cell, starts: [true, true], into: &actions)
        let afterOne = hidden
        #expect(afterOne != [Float](repeating: 0, count: 8))
        agent.greedyActions(observation, rows: 2, hidden: &hidden, cell: &cell, starts: [false, true], into: &actions)
        #expect(Array(hidden[4..<8]) == Array(afterOne[4..<8]))   // copy 1 restarted: same as its first step
        #expect(Array(hidden[0..<4]) != Array(afterOne[0..<4]))   // copy 0 carried its memory
    }
}
