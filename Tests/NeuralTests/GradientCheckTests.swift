import Neural
import SeededRandom
import Testing
import TestSupport

/// Finite-difference checks of every layer and loss, for inputs and parameters.
@Suite struct GradientCheckTests {
    init() { pinBLASToOneThread() }

    @Test func linear() {
        var rng = SeededGenerator(seed: 1)
        #expect(GradientCheck.checkLayer(Linear(inputFeatures: 5, outputFeatures: 4, rng: &rng), rows: 3) == [])
    }

    @Test(arguments: Activation.Function.allCases)
    func activation(function: Activation.Function) {
        let margin: Float = function == .relu ? 0.05 : 0
        #expect(GradientCheck.checkLayer(Activation(function, features: 6), rows: 4, marginFromZero: margin) == [])
    }

    @Test func softmaxAndLogSoftmax() {
        #expect(GradientCheck.checkLayer(Softmax(features: 5), rows: 3) == [])
        #expect(GradientCheck.checkLayer(Softmax(features: 5, logarithmic: true), rows: 3) == [])
    }

    @Test func layerNorm() {
        let norm = LayerNorm(features: 6)
        var rng = SeededGenerator(seed: 2)
        Initializer.normal(mean: 1, std: 0.5).fill(norm.weight, using: &rng)
        Initializer.normal(mean: 0, std: 0.5).fill(norm.bias, using: &rng)
        #expect(GradientCheck.checkLayer(norm, rows: 4) == [])
    }

    @Test func batchNormTrainingAndEvaluation() {
        let norm = BatchNorm(features: 4)
        var rng = SeededGenerator(seed: 3)
        Initializer.normal(mean: 1, std: 0.5).fill(norm.weight, using: &rng)
        #expect(GradientCheck.checkLayer(norm, rows: 6) == [])
        norm.isTraining = false
        Initializer.uniform(low: 0.5, high: 2).fill(norm.runningVariance, using: &rng)
        #expect(GradientCheck.checkLayer(norm, rows: 6) == [])
    }

    @Test func dropoutWithAFixedMask() {
        let dropout = Dropout(probability: 0.3, features: 8, rng: SeededGenerator(seed: 4))
        let start = dropout.rng
        #expect(GradientCheck.checkLayer(dropout, rows: 5, prepare: { dropout.rng = start }) == [])
    }

    @Test func sequentialMLP() {
        var rng = SeededGenerator(seed: 5)
        let net = Sequential.mlp([3, 8, 8, 2], activation: .tanh, rng: &rng)
        #expect(GradientCheck.checkLayer(net, rows: 4) == [])
    }

    /// Hidden 4 runs the scalar path only; 12 runs the eight-lane gate passes and the scalar tail together.
    @Test("LSTM: input, initial state, parameters, with resets and a gradient into the final state",
          arguments: [4, 12])
    func lstm(hidden H: Int) {
        var rng = SeededGenerator(seed: 6)
        let B = 2, T = 5, I = 3
        let cell = LSTM(inputSize: I, hiddenSize: H, rng: &rng)
        var x = randomArray(B * T * I, &rng), h0 = randomArray(B * H, &rng), c0 = randomArray(B * H, &rng)
        var reset = [Float](repeating: 0, count: B * T)
        reset[0 * T + 2] = 1
        reset[1 * T + 4] = 1
        let weights = randomArray(B * T * H, &rng), finalWeights = randomArray(B * H, &rng)
        let cellWeights = randomArray(B * H, &rng)
        func loss() -> Double {
            let y = cell.forward(x, batch: B, steps: T, initialHidden: h0, initialCell: c0, resetMask: reset)
            return GradientCheck.weightedSum(y, weights) + GradientCheck.weightedSum(cell.finalHidden, finalWeights)
                + GradientCheck.weightedSum(cell.finalCell, cellWeights)
        }
        _ = loss()
        let dx = cell.backward(weights, finalHiddenGradient: finalWeights, finalCellGradient: cellWeights)
        let failures = x.withUnsafeMutableBufferPointer { xp in
            h0.withUnsafeMutableBufferPointer { hp in
                c0.withUnsafeMutableBufferPointer { cp in
                    GradientCheck.check([
                        CheckedValue("input", values: xp.baseAddress!, gradient: dx, count: xp.count),
                        CheckedValue("h0", values: hp.baseAddress!, gradient: cell.initialHiddenGradient, count: hp.count),
                        CheckedValue("c0", values: cp.baseAddress!, gradient: cell.initialCellGradient, count: cp.count),
                    ] + cell.namedParameters(prefix: "").map { CheckedValue($0.name, $0.parameter) }) {
                        let y = cell.forward(xp.baseAddress!, batch: B, steps: T, initialHidden: hp.baseAddress!,
                                             initialCell: cp.baseAddress!, resetMask: reset)
                        return GradientCheck.weightedSum(y, weights)
                            + GradientCheck.weightedSum(cell.finalHidden, finalWeights)
                            + GradientCheck.weightedSum(cell.finalCell, cellWeights)
                    }
                }
            }
        }
        #expect(failures == [])
    }

    @Test("Multi-head attention: query, key, value and parameters, with a padding mask")
    func attention() {
        var rng = SeededGenerator(seed: 8)
        let B = 2, Lq = 3, Lk = 4, E = 6
        let mha = MultiHeadAttention(embedDimension: E, headCount: 2, rng: &rng)
        var q = randomArray(B * Lq * E, &rng), k = randomArray(B * Lk * E, &rng), v = randomArray(B * Lk * E, &rng)
        let mask: [Bool] = [false, false, true, false, false, false, false, true]
        let weights = randomArray(B * Lq * E, &rng)
        _ = mha.forward(query: q, key: k, value: v, batch: B, queryLength: Lq, keyLength: Lk, keyPaddingMask: mask)
        let grads = mha.backward(weights)
        let failures = q.withUnsafeMutableBufferPointer { qp in
            k.withUnsafeMutableBufferPointer { kp in
                v.withUnsafeMutableBufferPointer { vp in
                    GradientCheck.check([
                        CheckedValue("query", values: qp.baseAddress!, gradient: grads.query, count: qp.count),
                        CheckedValue("key", values: kp.baseAddress!, gradient: grads.key, count: kp.count),
                        CheckedValue("value", values: vp.baseAddress!, gradient: grads.value, count: vp.count),
                    ] + mha.namedParameters(prefix: "").map { CheckedValue($0.name, $0.parameter) }) {
                        GradientCheck.weightedSum(mha.forward(query: qp.baseAddress!, key: kp.baseAddress!,
                                                              value: vp.baseAddress!, batch: B, queryLength: Lq,
                                                              keyLength: Lk, keyPaddingMask: mask), weights)
                    }
                }
            }
        }
        #expect(failures == [])
    }

    @Test func losses() {
        var rng = SeededGenerator(seed: 9)
        let n = 12
        var prediction = randomArray(n, scale: 2, &rng)
        let target = randomArray(n, &rng)
        var gradient = [Float](repeating: 0, count: n)
        for (name, loss) in [("mse", { (p: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>?) in
                                 Loss.meanSquaredError(prediction: p, target: target, count: n, gradient: g) }),
                             ("huber", { (p: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>?) in
                                 Loss.huber(prediction: p, target: target, count: n, delta: 0.8, gradient: g) })] {
            _ = loss(prediction, &gradient)
            let failures = prediction.withUnsafeMutableBufferPointer { p in
                GradientCheck.check([CheckedValue(name, values: p.baseAddress!, gradient: gradient, count: n)]) {
                    Double(loss(p.baseAddress!, nil))
                }
            }
            #expect(failures == [], "\(name)")
        }

        let rows = 4, classes = 3
        var logits = randomArray(rows * classes, &rng)
        let labels: [Int32] = [0, 2, 1, 2]
        var logitGradient = [Float](repeating: 0, count: rows * classes)
        _ = Loss.crossEntropy(logits: logits, targets: labels, rows: rows, classes: classes, gradient: &logitGradient)
        #expect(logits.withUnsafeMutableBufferPointer { z in
            GradientCheck.check([CheckedValue("crossEntropy", values: z.baseAddress!, gradient: logitGradient, count: z.count)]) {
                Double(Loss.crossEntropy(logits: z.baseAddress!, targets: labels, rows: rows, classes: classes))
            }
        } == [])
    }

    @Test("Categorical log-probability and entropy")
    func categorical() {
        var rng = SeededGenerator(seed: 10)
        let rows = 4, classes = 5
        var logits = randomArray(rows * classes, &rng)
        let actions: [Int32] = [1, 4, 0, 2]
        let upLogProb = randomArray(rows, &rng), upEntropy = randomArray(rows, &rng)
        var gradient = [Float](repeating: 0, count: rows * classes)
        Categorical.logProbabilityBackward(logits: logits, actions: actions, rows: rows, classes: classes,
                                           upstream: upLogProb, logitGradient: &gradient)
        Categorical.entropyBackward(logits: logits, rows: rows, classes: classes, upstream: upEntropy, logitGradient: &gradient)
        var logProb = [Float](repeating: 0, count: rows), entropy = [Float](repeating: 0, count: rows)
        let failures = logits.withUnsafeMutableBufferPointer { z in
            GradientCheck.check([CheckedValue("logits", values: z.baseAddress!, gradient: gradient, count: z.count)]) {
                Categorical.logProbability(logits: z.baseAddress!, actions: actions, rows: rows, classes: classes, into: &logProb)
                Categorical.entropy(logits: z.baseAddress!, rows: rows, classes: classes, into: &entropy)
                return zip(logProb, upLogProb).reduce(0.0) { $0 + Double($1.0 * $1.1) }
                    + zip(entropy, upEntropy).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            }
        }
        #expect(failures == [])
    }

    @Test("Diagonal Gaussian log-probability: means and log-stds")
    func gaussian() {
        var rng = SeededGenerator(seed: 11)
        let rows = 3, dims = 2
        var mean = randomArray(rows * dims, &rng), logStd = randomArray(dims, scale: 0.3, &rng)
        let actions = randomArray(rows * dims, &rng), upstream = randomArray(rows, &rng)
        var meanGradient = [Float](repeating: 0, count: rows * dims), logStdGradient = [Float](repeating: 0, count: dims)
        DiagonalGaussian.logProbabilityBackward(mean: mean, logStd: logStd, actions: actions, rows: rows, dims: dims,
                                                upstream: upstream, meanGradient: &meanGradient,
                                                logStdGradient: &logStdGradient)
        var logProb = [Float](repeating: 0, count: rows)
        let failures = mean.withUnsafeMutableBufferPointer { m in
            logStd.withUnsafeMutableBufferPointer { s in
                GradientCheck.check([CheckedValue("mean", values: m.baseAddress!, gradient: meanGradient, count: m.count),
                                     CheckedValue("logStd", values: s.baseAddress!, gradient: logStdGradient, count: s.count)]) {
                    DiagonalGaussian.logProbability(mean: m.baseAddress!, logStd: s.baseAddress!, actions: actions,
                                                    rows: rows, dims: dims, into: &logProb)
                    return zip(logProb, upstream).reduce(0.0) { $0 + Double($1.0 * $1.1) }
                }
            }
        }
        #expect(failures == [])
    }

    @Test("Squashed Gaussian: means and log-stds of a loss on the sampled actions and their log-probabilities, noise fixed")
    func squashedGaussian() {
        var rng = SeededGenerator(seed: 12)
        let rows = 4, dims = 3
        var mean = randomArray(rows * dims, scale: 0.5, &rng), logStd = randomArray(rows * dims, scale: 0.3, &rng)
        var noise = randomArray(rows * dims, &rng)
        // One coordinate saturated: tanh is exactly 1 in float32 there, so only the −log σ term of log π moves.
        mean[4] = 10.5; noise[4] = 0
        let upAction = randomArray(rows * dims, &rng), upLogProb = randomArray(rows, &rng)
        var actions = [Float](repeating: 0, count: rows * dims), logProb = [Float](repeating: 0, count: rows)
        SquashedGaussian.sample(mean: mean, logStd: logStd, noise: noise, rows: rows, dims: dims, actions: &actions,
                                logProbabilities: &logProb)
        #expect(actions[4] == 1)
        var meanGradient = [Float](repeating: 0, count: rows * dims), logStdGradient = meanGradient
        SquashedGaussian.backward(logStd: logStd, noise: noise, actions: actions, rows: rows, dims: dims,
                                  actionGradient: upAction, logProbabilityGradient: upLogProb,
                                  meanGradient: &meanGradient, logStdGradient: &logStdGradient)
        let failures = mean.withUnsafeMutableBufferPointer { m in
            logStd.withUnsafeMutableBufferPointer { s in
                GradientCheck.check([CheckedValue("mean", values: m.baseAddress!, gradient: meanGradient, count: m.count),
                                     CheckedValue("logStd", values: s.baseAddress!, gradient: logStdGradient, count: s.count)]) {
                    SquashedGaussian.sample(mean: m.baseAddress!, logStd: s.baseAddress!, noise: noise, rows: rows, dims: dims,
                                            actions: &actions, logProbabilities: &logProb)
                    return GradientCheck.weightedSum(actions, upAction) + GradientCheck.weightedSum(logProb, upLogProb)
                }
            }
        }
        #expect(failures == [])
    }

    @Test("L1 and L2 penalties add their exact gradients")
    func penalties() {
        var rng = SeededGenerator(seed: 12)
        let layer = Linear(inputFeatures: 4, outputFeatures: 3, rng: &rng)
        let arena = ParameterArena(module: layer)
        for (name, penalty) in [("l2", { Regularization.addL2Penalty(arena, lambda: 0.3) }),
                                ("l1", { Regularization.addL1Penalty(arena, lambda: 0.3) })] {
            arena.zeroGrad()
            _ = penalty()
            let analytic = Array(UnsafeBufferPointer(start: arena.grads, count: arena.count))
            let failures = GradientCheck.check([CheckedValue(name, values: arena.values, gradient: analytic, count: arena.count)],
                                               epsilon: 1e-3) {
                let saved = Array(UnsafeBufferPointer(start: arena.grads, count: arena.count))
                defer { arena.grads.update(from: saved, count: saved.count) }
                return Double(penalty())
            }
            #expect(failures == [], "\(name)")
        }
    }
}
