import Neural
import SeededRandom
import Testing
import TestSupport

/// A small recurrent-attention network and its training step, used to test determinism and allocation freedom
/// across all layer kinds at once.
final class TrainingHarness {
    let encoder: Sequential
    let lstm: LSTM
    let attention: MultiHeadAttention
    let arena: ParameterArena
    let optimizer: any Optimizer
    let batch = 4, steps = 5, features = 6, hidden = 8
    let input: UnsafeMutablePointer<Float>, target: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>
    let mask: UnsafeMutablePointer<Bool>

    init(seed: UInt64, optimizer makeOptimizer: (ParameterArena) -> any Optimizer = { Adam($0, learningRate: 1e-2) }) {
        var rng = SeededGenerator(seed: seed)
        encoder = Sequential([Linear(inputFeatures: features, outputFeatures: hidden, rng: &rng), LayerNorm(features: hidden),
                              Activation(.gelu, features: hidden), BatchNorm(features: hidden),
                              Dropout(probability: 0.1, features: hidden, rng: rng.split())])
        lstm = LSTM(inputSize: hidden, hiddenSize: hidden, rng: &rng)
        attention = MultiHeadAttention(embedDimension: hidden, headCount: 2, rng: &rng)
        arena = ParameterArena(encoder.namedParameters(prefix: "encoder.") + lstm.namedParameters(prefix: "lstm.")
                               + attention.namedParameters(prefix: "attention."))
        optimizer = makeOptimizer(arena)
        let count = batch * steps
        input = .allocate(capacity: count * features)
        target = .allocate(capacity: count * hidden)
        gradient = .allocate(capacity: count * hidden)
        mask = .allocate(capacity: count)
        var data = SeededGenerator(seed: 99)
        for i in 0..<(count * features) { input[i] = Float(data.nextGaussian()) }
        for i in 0..<(count * hidden) { target[i] = Float(data.nextGaussian()) }
        for i in 0..<count { mask[i] = i % steps == steps - 1 && i / steps == 1 }
    }

    deinit { input.deallocate(); target.deallocate(); gradient.deallocate(); mask.deallocate() }

    /// One full training step; returns the loss.
    @discardableResult
    func step() -> Float {
        arena.zeroGrad()
        let encoded = encoder.forward(input, rows: batch * steps)
        let sequence = lstm.forward(encoded, batch: batch, steps: steps)
        let attended = attention.forward(query: sequence, key: sequence, value: sequence, batch: batch,
                                         queryLength: steps, keyLength: steps, keyPaddingMask: mask)
        let loss = Loss.huber(prediction: attended, target: target, count: batch * steps * hidden, gradient: gradient)
        let g = attention.backward(gradient)
        for i in 0..<(batch * steps * hidden) { g.query[i] += g.key[i] + g.value[i] }
        _ = encoder.backward(lstm.backward(g.query))
        Regularization.clipGradientNorm(arena, maxNorm: 0.5)
        optimizer.step()
        return loss
    }

    var weights: [Float] { Array(UnsafeBufferPointer(start: arena.values, count: arena.count)) }
}

@Suite struct DeterminismTests {
    init() { pinBLASToOneThread() }

    @Test("The same seed gives bitwise-identical initial weights, losses and trained weights")
    func sameSeedSameBits() {
        let a = TrainingHarness(seed: 5), b = TrainingHarness(seed: 5)
        #expect(a.weights == b.weights)
        for _ in 0..<20 { #expect(a.step().bitPattern == b.step().bitPattern) }
        #expect(a.weights == b.weights)
        #expect(TrainingHarness(seed: 6).weights != a.weights, "another seed must give other weights")
    }

    @Test("Training reduces the loss (the harness really learns)")
    func harnessLearns() {
        let harness = TrainingHarness(seed: 5)
        let first = harness.step()
        var last = first
        for _ in 0..<60 { last = harness.step() }
        #expect(last < 0.8 * first, "loss \(first) → \(last)")
    }
}

@Suite struct AllocationTests {
    init() { pinBLASToOneThread() }

    @Test("The allocation counter sees allocations (so a zero below means something)")
    func counterWorks() {
        let count = allocationCount { _ = [Float](repeating: 1, count: 1000).reduce(0, +) }
        #expect(count >= 1)
        let raw = allocationCount { UnsafeMutablePointer<Float>.allocate(capacity: 64).deallocate() }
        #expect(raw == 1)
    }

    @Test("A steady-state training step (forward, backward, clipping, optimizer) makes no heap allocation",
          arguments: ["sgd", "adam", "adamw", "adamax", "adagrad", "rmsprop"])
    func steadyStateTrainingStepAllocatesNothing(optimizer: String) {
        let harness = TrainingHarness(seed: 1) { arena in
            switch optimizer {
            case "sgd": return SGD(arena, learningRate: 0.01, momentum: 0.9, nesterov: true)
            case "adam": return Adam(arena, amsgrad: true)
            case "adamw": return Adam.adamW(arena)
            case "adamax": return Adamax(arena)
            case "adagrad": return AdaGrad(arena)
            default: return RMSProp(arena, momentum: 0.5, centered: true)
            }
        }
        harness.step()  // first step sizes the buffers
        let allocations = allocationCount { for _ in 0..<10 { harness.step() } }
        #expect(allocations == 0, "\(allocations) allocations in 10 steps with \(optimizer)")
    }
}

@Suite struct InitializerTests {
    @Test("Orthogonal initialization gives orthonormal rows (wide) or columns (tall), times the gain",
          arguments: [(4, 9), (9, 4), (6, 6)])
    func orthogonal(rows: Int, columns: Int) {
        var rng = SeededGenerator(seed: 3)
        let p = Parameter(shape: [rows, columns])
        Initializer.orthogonal(gain: 2).fill(p, using: &rng)
        let n = min(rows, columns)
        for i in 0..<n {
            for j in 0..<n {
                var dot: Float = 0
                for k in 0..<max(rows, columns) {
                    dot += rows <= columns ? p.value[i * columns + k] * p.value[j * columns + k]
                                           : p.value[k * columns + i] * p.value[k * columns + j]
                }
                #expect(abs(dot - (i == j ? 4 : 0)) < 1e-4, "(\(i), \(j)): \(dot)")
            }
        }
    }

    /// Sample standard deviation and maximum magnitude of a filled 200 × 300 weight.
    func statistics(_ initializer: Initializer) -> (std: Double, maxAbs: Float) {
        var rng = SeededGenerator(seed: 4)
        let p = Parameter(shape: [200, 300])
        initializer.fill(p, using: &rng)
        let values = UnsafeBufferPointer(start: p.value, count: p.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(p.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(p.count)
        return (variance.squareRoot(), values.map(abs).max()!)
    }

    @Test("Xavier and Kaiming have PyTorch's bounds and standard deviations (fanIn 300, fanOut 200)")
    func fanBasedSchemes() {
        let xavierBound = Float(6.0 / 500).squareRoot()
        let xu = statistics(.xavierUniform())
        #expect(xu.maxAbs <= xavierBound && xu.maxAbs > 0.99 * xavierBound)
        #expect(abs(xu.std - Double(xavierBound) / 3.0.squareRoot()) < 0.01 * Double(xavierBound))
        #expect(abs(statistics(.xavierNormal(gain: 2)).std - 2 * (2.0 / 500).squareRoot()) < 0.01 * 2 * (2.0 / 500).squareRoot())
        let kaimingStd = 2.0.squareRoot() / 300.0.squareRoot()
        #expect(abs(statistics(.kaimingNormal(nonlinearity: .relu)).std - kaimingStd) < 0.01 * kaimingStd)
        #expect(abs(statistics(.kaimingUniform(mode: .fanOut, nonlinearity: .relu)).std - 2.0.squareRoot() / 200.0.squareRoot())
                < 0.01 * 2.0.squareRoot() / 200.0.squareRoot())
        #expect(statistics(.zeros).maxAbs == 0)
    }

    @Test("The same generator state gives the same weights")
    func deterministic() {
        var a = SeededGenerator(seed: 11), b = SeededGenerator(seed: 11)
        let p = Parameter(shape: [5, 7]), q = Parameter(shape: [5, 7])
        Initializer.orthogonal().fill(p, using: &a)
        Initializer.orthogonal().fill(q, using: &b)
        #expect(p.tensor == q.tensor)
    }
}
