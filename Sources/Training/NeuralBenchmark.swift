import Foundation
import Neural
import SeededRandom

/// The `dojo bench nn` workloads: one training iteration (zero gradients, forward, MSE loss against a fixed
/// random target, backward, Adam step) of the network sizes RL agents use. `bench/nn_vs_torch.py` runs the same
/// workloads in PyTorch; the names and shapes here and there must stay the same.
public struct NeuralWorkload {
    public let name: String
    public let summary: String
    /// Matrix-product floating-point operations per iteration (forward + backward), counted as 2·m·n·k per product.
    public let flopsPerIteration: Double
    /// Runs one iteration and returns the loss; with a clock, marks its phases (forward + loss, backward, optimizer
    /// with the zeroing of gradients).
    public let iterate: (PhaseClock?) -> Float
}

public enum NeuralBenchmark {
    /// The five standard workloads, built from `seed`.
    public static func workloads(seed: UInt64 = 0) -> [NeuralWorkload] {
        [mlp(name: "mlp-small", sizes: [4, 64, 64, 2], batch: 64, seed: seed),
         mlp(name: "mlp-medium", sizes: [128, 256, 256, 5], batch: 256, seed: seed),
         lstm(name: "lstm-small", input: 64, hidden: 128, batch: 16, steps: 32, seed: seed),
         attention(name: "attention", embed: 64, heads: 4, batch: 64, tokens: 16, seed: seed),
         lstm(name: "lstm-large", input: 256, hidden: 512, batch: 64, steps: 64, seed: seed)]
    }

    static func randomBuffer(_ count: Int, _ rng: inout SeededGenerator) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        for i in 0..<count { p[i] = Float(rng.nextGaussian()) }
        return p
    }

    /// MLP with ReLU; the first layer computes no input gradient (its input is data).
    static func mlp(name: String, sizes: [Int], batch: Int, seed: UInt64) -> NeuralWorkload {
        var rng = SeededGenerator(seed: seed)
        let net = Sequential.mlp(sizes, rng: &rng)
        (net.layers[0] as! Linear).computesInputGradient = false
        let arena = ParameterArena(module: net)
        let adam = Adam(arena, learningRate: 1e-4)
        let x = randomBuffer(batch * sizes[0], &rng), target = randomBuffer(batch * sizes.last!, &rng)
        let gradient = UnsafeMutablePointer<Float>.allocate(capacity: batch * sizes.last!)
        var flops = 0.0
        for i in 0..<(sizes.count - 1) { flops += 2 * Double(batch * sizes[i] * sizes[i + 1]) * (i == 0 ? 2 : 3) }
        let shape = sizes.map(String.init).joined(separator: "→")
        return NeuralWorkload(name: name, summary: "MLP \(shape), batch \(batch)", flopsPerIteration: flops) { clock in
            clock?.enter(.optimizer)
            arena.zeroGrad()
            clock?.enter(.forward)
            let y = net.forward(x, rows: batch)
            let loss = Loss.meanSquaredError(prediction: y, target: target, count: batch * sizes.last!, gradient: gradient)
            clock?.enter(.backward)
            _ = net.backward(gradient)
            clock?.enter(.optimizer)
            adam.step()
            clock?.enter(.other)
            return loss
        }
    }

    static func lstm(name: String, input: Int, hidden: Int, batch: Int, steps: Int, seed: UInt64) -> NeuralWorkload {
        var rng = SeededGenerator(seed: seed)
        let cell = LSTM(inputSize: input, hiddenSize: hidden, rng: &rng)
        cell.computesInputGradient = false
        let arena = ParameterArena(module: cell)
        let adam = Adam(arena, learningRate: 1e-4)
        let count = batch * steps * hidden
        let x = randomBuffer(batch * steps * input, &rng), target = randomBuffer(count, &rng)
        let gradient = UnsafeMutablePointer<Float>.allocate(capacity: count)
        // Forward x·W_ih and h·W_hh, backward dW_ih, dW_hh and dh (no dx).
        let flops = 2 * Double(batch * steps * 4 * hidden) * Double(2 * input + 3 * hidden)
        return NeuralWorkload(name: name, summary: "LSTM in \(input) hidden \(hidden), batch \(batch), seq \(steps)",
                              flopsPerIteration: flops) { clock in
            clock?.enter(.optimizer)
            arena.zeroGrad()
            clock?.enter(.forward)
            let y = cell.forward(x, batch: batch, steps: steps)
            let loss = Loss.meanSquaredError(prediction: y, target: target, count: count, gradient: gradient)
            clock?.enter(.backward)
            _ = cell.backward(gradient)
            clock?.enter(.optimizer)
            adam.step()
            clock?.enter(.other)
            return loss
        }
    }

    /// Self-attention; sequence b has its last (b mod 4) tokens padded.
    static func attention(name: String, embed: Int, heads: Int, batch: Int, tokens: Int, seed: UInt64) -> NeuralWorkload {
        var rng = SeededGenerator(seed: seed)
        let mha = MultiHeadAttention(embedDimension: embed, headCount: heads, rng: &rng)
        mha.computesInputGradient = false
        let arena = ParameterArena(module: mha)
        let adam = Adam(arena, learningRate: 1e-4)
        let count = batch * tokens * embed
        let x = randomBuffer(count, &rng), target = randomBuffer(count, &rng)
        let gradient = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let mask = UnsafeMutablePointer<Bool>.allocate(capacity: batch * tokens)
        for b in 0..<batch { for t in 0..<tokens { mask[b * tokens + t] = t >= tokens - b % 4 } }
        let rows = Double(batch * tokens), e = Double(embed), l = Double(tokens)
        // In-projection: forward + dW (3 slices); out-projection: forward + dW + dx; scores: 2 forward + 4 backward.
        let flops = 2 * rows * e * e * 3 * 2 + 2 * rows * e * e * 3 + 2 * rows * l * e * 6
        return NeuralWorkload(name: name, summary: "attention E \(embed), \(heads) heads, batch \(batch), \(tokens) tokens, padding mask",
                              flopsPerIteration: flops) { clock in
            clock?.enter(.optimizer)
            arena.zeroGrad()
            clock?.enter(.forward)
            let y = mha.forward(query: x, key: x, value: x, batch: batch, queryLength: tokens, keyLength: tokens,
                                keyPaddingMask: mask)
            let loss = Loss.meanSquaredError(prediction: y, target: target, count: count, gradient: gradient)
            clock?.enter(.backward)
            mha.backward(gradient)
            clock?.enter(.optimizer)
            adam.step()
            clock?.enter(.other)
            return loss
        }
    }

    /// One measured workload.
    public struct Result: Codable, Sendable {
        public let name: String
        public let summary: String
        public let millisecondsPerIteration: Double
        public let gflops: Double
        public let flopsPerIteration: Double
        public let iterations: Int
    }

    /// Measures the sgemm ceiling and `workloads` in `rounds` interleaved rounds (the ceiling, then each workload for
    /// about `secondsPerRound`), keeping the best round of each. Other processes only ever slow a round down, so on a
    /// shared machine the best rounds, taken close together in time, give the steadiest figures and shares.
    public static func measureInterleaved(_ workloads: [NeuralWorkload], rounds: Int = 5,
                                          secondsPerRound: Double = 0.3) -> (ceiling: Double, results: [Result]) {
        let sizes = workloads.map { iterations(for: $0, seconds: secondsPerRound) }
        var ceiling = 0.0
        var best = [Double](repeating: .infinity, count: workloads.count)
        for _ in 0..<max(rounds, 1) {
            ceiling = max(ceiling, sgemmCeiling(repeats: 5))
            for (k, workload) in workloads.enumerated() {
                best[k] = min(best[k], secondsPerIteration(workload, iterations: sizes[k]))
            }
        }
        let results = workloads.indices.map { k in
            Result(name: workloads[k].name, summary: workloads[k].summary, millisecondsPerIteration: best[k] * 1e3,
                   gflops: workloads[k].flopsPerIteration / best[k] / 1e9, flopsPerIteration: workloads[k].flopsPerIteration,
                   iterations: sizes[k])
        }
        return (ceiling, results)
    }

    /// Mean seconds per iteration over `iterations` iterations of `workload`.
    static func secondsPerIteration(_ workload: NeuralWorkload, iterations: Int) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { _ = workload.iterate(nil) }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
    }

    /// Iterations of `workload` that last about `seconds` (after warming it up).
    static func iterations(for workload: NeuralWorkload, seconds: Double) -> Int {
        var iterations = 1
        while true {
            let elapsed = secondsPerIteration(workload, iterations: iterations) * Double(iterations)
            if elapsed >= seconds / 4 || iterations >= 1 << 20 {
                return max(1, Int(Double(iterations) * seconds / max(elapsed, 1e-9)))
            }
            iterations *= 4
        }
    }

    /// Where one workload's iterations spend their time: each phase (forward + loss, backward, optimizer), and within
    /// it the matrix products.
    public struct Profile: Codable, Sendable {
        public struct Phase: Codable, Sendable {
            public let name: String
            public let millisecondsPerIteration: Double
            public let productMillisecondsPerIteration: Double
            public let productsPerIteration: Int
            /// Multiply-adds per product, on average (0 without products).
            public let meanMultiplyAdds: Double
        }
        public let name: String
        public let summary: String
        public let phases: [Phase]
        public let millisecondsPerIteration: Double
    }

    /// Profiles `workload` over about `seconds` of iterations (timing every product costs two clock reads each, so
    /// the totals run a little above an unprofiled iteration).
    public static func profile(_ workload: NeuralWorkload, seconds: Double) -> Profile {
        let count = iterations(for: workload, seconds: seconds)
        let clock = PhaseClock()
        clock.timeProducts(true)
        defer { clock.timeProducts(false) }
        clock.enter(.other)
        for _ in 0..<count { _ = workload.iterate(clock) }
        _ = clock.total()
        let n = Double(count)
        let phases = [PhaseClock.Phase.forward, .backward, .optimizer].map { phase in
            let calls = clock.productCalls[phase.rawValue]
            return Profile.Phase(name: phase.name.replacingOccurrences(of: "learning: ", with: ""),
                                 millisecondsPerIteration: clock.seconds[phase.rawValue] / n * 1e3,
                                 productMillisecondsPerIteration: clock.productSeconds[phase.rawValue] / n * 1e3,
                                 productsPerIteration: calls / count,
                                 meanMultiplyAdds: calls > 0 ? clock.productMultiplyAdds[phase.rawValue] / Double(calls) : 0)
        }
        return Profile(name: workload.name, summary: workload.summary, phases: phases,
                       millisecondsPerIteration: phases.reduce(0) { $0 + $1.millisecondsPerIteration })
    }

    /// The machine's matrix-product ceiling: GFLOP/s of a 512³ sgemm at the current thread count.
    public static func sgemmCeiling(size n: Int = 512, repeats: Int = 20) -> Double {
        var rng = SeededGenerator(seed: 1)
        let a = randomBuffer(n * n, &rng), b = randomBuffer(n * n, &rng), c = randomBuffer(n * n, &rng)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            gemm(.none, .none, m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }
}
