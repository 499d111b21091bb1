import Neural
import SeededRandom
import Testing
import TestSupport

/// Dojo against PyTorch on the committed fixtures of scripts/make_torch_fixtures.py: forward within 1e-5 and
/// gradients within 1e-4 of PyTorch, relative to scale.
@Suite struct TorchParityTests {
    init() { pinBLASToOneThread() }

    /// Compares `count` floats at `actual` with fixture tensor `name`.
    func expectClose(_ actual: UnsafePointer<Float>, _ fixture: FixtureFile, _ name: String, tolerance: Double,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let error = scaledError(actual, try fixture.scalars(name))
        #expect(error <= tolerance, "\(name): scaled error \(error) > \(tolerance)", sourceLocation: sourceLocation)
    }

    func expectParameterGradients(_ module: some Module, _ fixture: FixtureFile, prefix: String = "",
                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        for entry in module.namedParameters(prefix: "") {
            try expectClose(entry.parameter.grad, fixture, prefix + "grad." + entry.name, tolerance: Tolerance.gradient,
                            sourceLocation: sourceLocation)
        }
    }

    @Test func linear() throws {
        let f = try Fixtures.neural("linear")
        var rng = SeededGenerator(seed: 0)
        let layer = Linear(inputFeatures: 5, outputFeatures: 7, rng: &rng)
        try f.loadModule(layer)
        let input = try f.scalars("input")
        try expectClose(layer.forward(input, rows: 8), f, "output", tolerance: Tolerance.forward)
        try expectClose(layer.backward(try f.scalars("output_grad")), f, "input_grad", tolerance: Tolerance.gradient)
        try expectParameterGradients(layer, f)
    }

    @Test func activations() throws {
        let f = try Fixtures.neural("activations")
        let layers: [(String, any Layer)] = [
            ("relu", Activation(.relu, features: 5)), ("tanh", Activation(.tanh, features: 5)),
            ("sigmoid", Activation(.sigmoid, features: 5)), ("gelu", Activation(.gelu, features: 5)),
            ("softmax", Softmax(features: 5)), ("log_softmax", Softmax(features: 5, logarithmic: true)),
        ]
        for (name, layer) in layers {
            let input = try f.scalars("\(name).input")
            try expectClose(layer.forward(input, rows: 6), f, "\(name).output", tolerance: Tolerance.forward)
            try expectClose(layer.backward(try f.scalars("\(name).output_grad")), f, "\(name).input_grad",
                            tolerance: Tolerance.gradient)
        }
    }

    @Test func layerNorm() throws {
        let f = try Fixtures.neural("layernorm")
        let norm = LayerNorm(features: 6)
        try f.loadModule(norm)
        let input = try f.scalars("input")
        try expectClose(norm.forward(input, rows: 5), f, "output", tolerance: Tolerance.forward)
        try expectClose(norm.backward(try f.scalars("output_grad")), f, "input_grad", tolerance: Tolerance.gradient)
        try expectParameterGradients(norm, f)
    }

    @Test("BatchNorm: batch statistics and running-stat update in training, running statistics in evaluation")
    func batchNorm() throws {
        let f = try Fixtures.neural("batchnorm")
        let norm = BatchNorm(features: 5)
        var initial = SafeTensors.File()
        for name in f.file.names where name.hasPrefix("initial.") {
            initial.append(String(name.dropFirst("initial.".count)), f.file.tensors[name]!)
        }
        try norm.stateEntries().load(from: initial, path: f.path)

        let trainInput = try f.scalars("train.input")
        try expectClose(norm.forward(trainInput, rows: 8), f, "train.output", tolerance: Tolerance.forward)
        try expectClose(norm.backward(try f.scalars("train.output_grad")), f, "train.input_grad", tolerance: Tolerance.gradient)
        try expectParameterGradients(norm, f, prefix: "train.")
        try expectClose(norm.runningMean.value, f, "train.module.running_mean", tolerance: Tolerance.forward)
        try expectClose(norm.runningVariance.value, f, "train.module.running_var", tolerance: Tolerance.forward)
        #expect(f.file.tensors["train.module.num_batches_tracked"] == .int64(shape: [], values: [norm.batchesTracked.value]))

        for entry in norm.namedParameters(prefix: "") { entry.parameter.zeroGrad() }
        norm.isTraining = false
        let evalInput = try f.scalars("eval.input")
        try expectClose(norm.forward(evalInput, rows: 4), f, "eval.output", tolerance: Tolerance.forward)
        try expectClose(norm.backward(try f.scalars("eval.output_grad")), f, "eval.input_grad", tolerance: Tolerance.gradient)
        try expectParameterGradients(norm, f, prefix: "eval.")
    }

    @Test("LSTM with carried initial state, reset mask and gradients into the final state")
    func lstm() throws {
        let f = try Fixtures.neural("lstm")
        var rng = SeededGenerator(seed: 0)
        let cell = LSTM(inputSize: 4, hiddenSize: 5, rng: &rng)
        try f.loadModule(cell)
        let input = try f.scalars("input"), h0 = try f.scalars("h0"), c0 = try f.scalars("c0")
        let reset = try f.scalars("reset")
        let output = cell.forward(input, batch: 3, steps: 6, initialHidden: h0, initialCell: c0, resetMask: reset)
        try expectClose(output, f, "output", tolerance: Tolerance.forward)
        try expectClose(cell.finalHidden, f, "final_h", tolerance: Tolerance.forward)
        try expectClose(cell.finalCell, f, "final_c", tolerance: Tolerance.forward)
        let dx = cell.backward(try f.scalars("output_grad"), finalHiddenGradient: try f.scalars("final_h_grad"),
                               finalCellGradient: try f.scalars("final_c_grad"))
        try expectClose(dx, f, "input_grad", tolerance: Tolerance.gradient)
        try expectClose(cell.initialHiddenGradient, f, "h0_grad", tolerance: Tolerance.gradient)
        try expectClose(cell.initialCellGradient, f, "c0_grad", tolerance: Tolerance.gradient)
        try expectParameterGradients(cell, f)
    }

    @Test("Multi-head attention with a key padding mask, attention weights included")
    func multiHeadAttention() throws {
        let f = try Fixtures.neural("mha")
        var rng = SeededGenerator(seed: 0)
        let mha = MultiHeadAttention(embedDimension: 8, headCount: 2, rng: &rng)
        try f.loadModule(mha)
        let q = try f.scalars("query"), k = try f.scalars("key"), v = try f.scalars("value")
        let mask = try f.scalars("key_padding_mask").map { $0 != 0 }
        let y = mha.forward(query: q, key: k, value: v, batch: 3, queryLength: 4, keyLength: 5, keyPaddingMask: mask)
        try expectClose(y, f, "output", tolerance: Tolerance.forward)
        try expectClose(mha.attentionWeights, f, "aux_weights", tolerance: Tolerance.forward)
        let grads = mha.backward(try f.scalars("output_grad"))
        try expectClose(grads.query, f, "query_grad", tolerance: Tolerance.gradient)
        try expectClose(grads.key, f, "key_grad", tolerance: Tolerance.gradient)
        try expectClose(grads.value, f, "value_grad", tolerance: Tolerance.gradient)
        try expectParameterGradients(mha, f)
    }

    @Test("Losses and distributions: values and gradients")
    func losses() throws {
        let f = try Fixtures.neural("losses")
        let p = try f.scalars("prediction"), t = try f.scalars("target")
        var g = [Float](repeating: 0, count: p.count)
        var value = [Loss.meanSquaredError(prediction: p, target: t, count: p.count, gradient: &g)]
        try expectClose(value, f, "mse.value", tolerance: Tolerance.forward)
        try expectClose(g, f, "mse.grad", tolerance: Tolerance.gradient)
        value = [Loss.huber(prediction: p, target: t, count: p.count, delta: 0.7, gradient: &g)]
        try expectClose(value, f, "huber.value", tolerance: Tolerance.forward)
        try expectClose(g, f, "huber.grad", tolerance: Tolerance.gradient)

        let logits = try f.scalars("logits"), labels = try f.scalars("labels").map { Int32($0) }
        var logitGradient = [Float](repeating: 0, count: logits.count)
        value = [Loss.crossEntropy(logits: logits, targets: labels, rows: 5, classes: 4, gradient: &logitGradient)]
        try expectClose(value, f, "ce.value", tolerance: Tolerance.forward)
        try expectClose(logitGradient, f, "ce.grad", tolerance: Tolerance.gradient)

        var logProb = [Float](repeating: 0, count: 5), entropy = [Float](repeating: 0, count: 5)
        Categorical.logProbability(logits: logits, actions: labels, rows: 5, classes: 4, into: &logProb)
        Categorical.entropy(logits: logits, rows: 5, classes: 4, into: &entropy)
        try expectClose(logProb, f, "categorical.log_prob", tolerance: Tolerance.forward)
        try expectClose(entropy, f, "categorical.entropy", tolerance: Tolerance.forward)
        logitGradient = [Float](repeating: 0, count: logits.count)
        Categorical.logProbabilityBackward(logits: logits, actions: labels, rows: 5, classes: 4,
                                           upstream: try f.scalars("categorical.log_prob_upstream"), logitGradient: &logitGradient)
        Categorical.entropyBackward(logits: logits, rows: 5, classes: 4, upstream: try f.scalars("categorical.entropy_upstream"),
                                    logitGradient: &logitGradient)
        try expectClose(logitGradient, f, "categorical.logits_grad", tolerance: Tolerance.gradient)

        let mean = try f.scalars("gaussian.mean"), logStd = try f.scalars("gaussian.log_std")
        let actions = try f.scalars("gaussian.actions")
        DiagonalGaussian.logProbability(mean: mean, logStd: logStd, actions: actions, rows: 5, dims: 2, into: &logProb)
        try expectClose(logProb, f, "gaussian.log_prob", tolerance: Tolerance.forward)
        try expectClose([DiagonalGaussian.entropy(logStd: logStd, dims: 2)], f, "gaussian.entropy", tolerance: Tolerance.forward)
        var meanGradient = [Float](repeating: 0, count: 10)
        var logStdGradient = [Float](repeating: 5, count: 2)  // the entropy term: 5 rows × dH/dlogσ = 1
        DiagonalGaussian.logProbabilityBackward(mean: mean, logStd: logStd, actions: actions, rows: 5, dims: 2,
                                                upstream: try f.scalars("gaussian.upstream"),
                                                meanGradient: &meanGradient, logStdGradient: &logStdGradient)
        try expectClose(meanGradient, f, "gaussian.mean_grad", tolerance: Tolerance.gradient)
        try expectClose(logStdGradient, f, "gaussian.log_std_grad", tolerance: Tolerance.gradient)
    }

    /// The optimizer configurations of the fixture, built over `arena`.
    static func optimizer(_ name: String, _ arena: ParameterArena) -> any Optimizer {
        switch name {
        case "sgd": return SGD(arena, learningRate: 0.1)
        case "sgd_momentum": return SGD(arena, learningRate: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01)
        case "sgd_nesterov": return SGD(arena, learningRate: 0.05, momentum: 0.9, nesterov: true)
        case "adam": return Adam(arena, learningRate: 0.01)
        case "adam_l2_amsgrad": return Adam(arena, learningRate: 0.02, beta1: 0.8, beta2: 0.99, weightDecay: 0.1, amsgrad: true)
        case "adamw": return Adam.adamW(arena, learningRate: 0.01, weightDecay: 0.1)
        case "adamax": return Adamax(arena, learningRate: 0.02, weightDecay: 0.01)
        case "adagrad": return AdaGrad(arena, learningRate: 0.1, learningRateDecay: 0.01, initialAccumulatorValue: 0.1)
        case "rmsprop": return RMSProp(arena, learningRate: 0.01)
        case "rmsprop_centered_momentum":
            return RMSProp(arena, learningRate: 0.01, weightDecay: 0.01, momentum: 0.5, centered: true)
        default: preconditionFailure("unknown optimizer fixture \(name)")
        }
    }

    @Test("Every optimizer's 10-step trajectory matches PyTorch's",
          arguments: ["sgd", "sgd_momentum", "sgd_nesterov", "adam", "adam_l2_amsgrad", "adamw", "adamax", "adagrad",
                      "rmsprop", "rmsprop_centered_momentum"])
    func optimizerTrajectory(name: String) throws {
        let f = try Fixtures.neural("optimizers")
        let w = Parameter(shape: [4, 3]), v = Parameter(shape: [3])
        w.load(try f.tensor("initial.w"))
        v.load(try f.tensor("initial.v"))
        let arena = ParameterArena([NamedParameter("w", w), NamedParameter("v", v)])
        let aw = try f.scalars("a.w"), bw = try f.scalars("b.w"), av = try f.scalars("a.v"), bv = try f.scalars("b.v")
        let optimizer = Self.optimizer(name, arena)
        for step in 1...10 {
            // grad of Σ ½ a p² + b p
            for i in 0..<12 { w.grad[i] = aw[i] * w.value[i] + bw[i] }
            for i in 0..<3 { v.grad[i] = av[i] * v.value[i] + bv[i] }
            optimizer.step()
            try expectClose(w.value, f, "\(name).step\(step).w", tolerance: Tolerance.forward)
            try expectClose(v.value, f, "\(name).step\(step).v", tolerance: Tolerance.forward)
        }
        #expect(optimizer.stepCount == 10)
    }

    @Test func gradientNormClipping() throws {
        let f = try Fixtures.neural("optimizers")
        let w = Parameter(shape: [4, 3]), v = Parameter(shape: [3])
        let arena = ParameterArena([NamedParameter("w", w), NamedParameter("v", v)])
        try f.tensor("clip.grad.w").copy(to: w.grad)
        try f.tensor("clip.grad.v").copy(to: v.grad)
        let norm = Regularization.clipGradientNorm(arena, maxNorm: 2)
        try expectClose([norm], f, "clip.norm", tolerance: Tolerance.forward)
        try expectClose(w.grad, f, "clip.clipped.w", tolerance: Tolerance.forward)
        try expectClose(v.grad, f, "clip.clipped.v", tolerance: Tolerance.forward)
    }

    @Test("A state_dict saved by safetensors.torch loads into the equivalent Dojo network and gives PyTorch's output")
    func torchWrittenModel() throws {
        var rng = SeededGenerator(seed: 0)
        let net = Sequential.mlp([4, 16, 3], activation: .tanh, rng: &rng)
        try net.load(from: Fixtures.path("neural/torch_mlp.safetensors"))
        let io = try Fixtures.neural("torch_mlp_io")
        try expectClose(net.forward(try io.scalars("input"), rows: 6), io, "output", tolerance: Tolerance.forward)
    }
}
