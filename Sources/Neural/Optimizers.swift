import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// An optimizer updates every value of a ``ParameterArena`` from its gradients, in one loop over the flat block.
/// The update rules are PyTorch's (`torch.optim`, single-tensor path), step for step, so a trajectory from the same
/// start and gradients matches PyTorch's to float32 precision. `step()` allocates nothing.
public protocol Optimizer: AnyObject {
    var arena: ParameterArena { get }
    /// Changed between steps by learning-rate schedules.
    var learningRate: Float { get set }
    /// Number of `step()` calls so far (restored with the state entries).
    var stepCount: Int { get }
    /// Applies one update from the current gradients (it does not zero them).
    func step()
    /// Everything needed to resume exactly: named per-scalar state buffers and the step counter.
    func stateEntries(prefix: String) -> [StateEntry]
}

/// Per-scalar optimizer state (momentum, moment estimates): a gradient-free ``Parameter`` so it saves like weights.
private func stateBuffer(_ count: Int, initialValue: Float = 0) -> Parameter {
    let buffer = Parameter(shape: [count])
    if initialValue != 0 { buffer.value.update(repeating: initialValue, count: count) }
    return buffer
}

/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay
/// (`torch.optim.SGD`).
public final class SGD: Optimizer {
    public let arena: ParameterArena
    public var learningRate: Float
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    private let counter = Counter()
    public var stepCount: Int { Int(counter.value) }
    private let momentumBuffer: Parameter

    public init(_ arena: ParameterArena, learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(learningRate >= 0 && momentum >= 0 && weightDecay >= 0, "SGD needs non-negative hyperparameters")
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum needs momentum > 0 and no dampening")
        self.arena = arena
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        momentumBuffer = stateBuffer(momentum > 0 ? arena.count : 0)
    }

    public func step() {
        let p = arena.values, grad = arena.grads, buf = momentumBuffer.value
        let first = stepCount == 0
        // Hyperparameters as locals: stores through the arena pointers could otherwise alias the stored
        // properties, which forces reloads and blocks vectorization.
        let learningRate = learningRate, momentum = momentum, dampening = dampening, weightDecay = weightDecay
        let nesterov = nesterov
        for i in 0..<arena.count {
            var g = grad[i]
            if weightDecay != 0 { g = g + weightDecay * p[i] }
            if momentum != 0 {
                buf[i] = first ? g : buf[i] * momentum + (1 - dampening) * g
                g = nesterov ? g + momentum * buf[i] : buf[i]
            }
            p[i] = p[i] + (-learningRate) * g
        }
        counter.value += 1
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        [StateEntry(name: prefix + "momentum_buffer", storage: .parameter(momentumBuffer)),
         StateEntry(name: prefix + "step", storage: .counter(counter))]
    }
}

/// Adam (`torch.optim.Adam`), with L2 weight decay added to the gradient and optional AMSGrad; with
/// `decoupledWeightDecay` it is AdamW (`torch.optim.AdamW`): the weights shrink by lr·λ before the Adam step.
public final class Adam: Optimizer {
    public let arena: ParameterArena
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let amsgrad: Bool, decoupledWeightDecay: Bool
    private let counter = Counter()
    public var stepCount: Int { Int(counter.value) }
    private let firstMoment: Parameter, secondMoment: Parameter, maxSecondMoment: Parameter

    public init(_ arena: ParameterArena, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, amsgrad: Bool = false,
                decoupledWeightDecay: Bool = false) {
        precondition(learningRate >= 0 && epsilon >= 0 && weightDecay >= 0, "Adam needs non-negative hyperparameters")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam betas must be in [0, 1)")
        self.arena = arena
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.decoupledWeightDecay = decoupledWeightDecay
        firstMoment = stateBuffer(arena.paddedCount)
        secondMoment = stateBuffer(arena.paddedCount)
        maxSecondMoment = stateBuffer(amsgrad ? arena.paddedCount : 0)
    }

    /// AdamW with PyTorch's default decay of 0.01.
    public static func adamW(_ arena: ParameterArena, learningRate: Float = 1e-3, beta1: Float = 0.9,
                             beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01,
                             amsgrad: Bool = false) -> Adam {
        Adam(arena, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
             weightDecay: weightDecay, amsgrad: amsgrad, decoupledWeightDecay: true)
    }

    public func step() {
        counter.value += 1
        // One pass over the padded arena in a C kernel (vector square roots, no fused multiply-adds), bitwise equal
        // to `referenceStep` (tested); two Swift passes around a square-root kernel moved the moments through the
        // caches twice and cost 5% of a medium MLP's training iteration.
        dojo_adam_f32(arena.values, arena.grads, firstMoment.value, secondMoment.value, maxSecondMoment.value,
                      arena.paddedCount, hyperparameters())
    }

    /// This step's constants (the step count already advanced).
    private func hyperparameters() -> dojo_adam_step {
        let t = Double(stepCount)
        return dojo_adam_step(beta1: beta1, beta2: beta2, epsilon: epsilon, weight_decay: weightDecay,
                              shrink: 1 - learningRate * weightDecay,
                              step_size: Float(Double(learningRate) / (1 - pow(Double(beta1), t))),
                              correction2_sqrt: Float((1 - pow(Double(beta2), t)).squareRoot()),
                              decoupled: decoupledWeightDecay ? 1 : 0, amsgrad: amsgrad ? 1 : 0)
    }

    /// `step()` written plainly, one parameter at a time in PyTorch's order: the reference the kernel is tested
    /// bitwise equal to.
    func referenceStep() {
        counter.value += 1
        let h = hyperparameters()
        let p = arena.values, grad = arena.grads
        let m = firstMoment.value, v = secondMoment.value, vMax = maxSecondMoment.value
        for i in 0..<arena.paddedCount {
            var g = grad[i], w = p[i]
            if weightDecay != 0 {
                if decoupledWeightDecay { w = w * h.shrink } else { g = g + weightDecay * w }
            }
            v[i] = v[i] * beta2 + (1 - beta2) * g * g
            if amsgrad && v[i] > vMax[i] { vMax[i] = v[i] }
            m[i] = m[i] + (1 - beta1) * (g - m[i])          // lerp, as PyTorch writes it
            let denominator = (amsgrad ? vMax[i] : v[i]).squareRoot() / h.correction2_sqrt + epsilon
            p[i] = w + (-h.step_size) * (m[i] / denominator)
        }
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries = [StateEntry(name: prefix + "exp_avg", storage: .parameter(firstMoment)),
                       StateEntry(name: prefix + "exp_avg_sq", storage: .parameter(secondMoment)),
                       StateEntry(name: prefix + "step", storage: .counter(counter))]
        if amsgrad { entries.append(StateEntry(name: prefix + "max_exp_avg_sq", storage: .parameter(maxSecondMoment))) }
        return entries
    }
}

/// Adamax, Adam with the infinity norm (`torch.optim.Adamax`).
public final class Adamax: Optimizer {
    public let arena: ParameterArena
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    private let counter = Counter()
    public var stepCount: Int { Int(counter.value) }
    private let firstMoment: Parameter, infinityNorm: Parameter

    public init(_ arena: ParameterArena, learningRate: Float = 2e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        precondition(learningRate >= 0 && epsilon >= 0 && weightDecay >= 0, "Adamax needs non-negative hyperparameters")
        self.arena = arena
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoment = stateBuffer(arena.count)
        infinityNorm = stateBuffer(arena.count)
    }

    public func step() {
        counter.value += 1
        let clr = Float(Double(learningRate) / (1 - pow(Double(beta1), Double(stepCount))))
        let p = arena.values, grad = arena.grads, m = firstMoment.value, u = infinityNorm.value
        let beta1 = beta1, beta2 = beta2, epsilon = epsilon, weightDecay = weightDecay  // locals: see SGD.step
        for i in 0..<arena.count {
            var g = grad[i]
            if weightDecay != 0 { g = g + weightDecay * p[i] }
            m[i] = m[i] + (1 - beta1) * (g - m[i])
            u[i] = max(u[i] * beta2, abs(g) + epsilon)
            p[i] = p[i] + (-clr) * (m[i] / u[i])
        }
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        [StateEntry(name: prefix + "exp_avg", storage: .parameter(firstMoment)),
         StateEntry(name: prefix + "exp_inf", storage: .parameter(infinityNorm)),
         StateEntry(name: prefix + "step", storage: .counter(counter))]
    }
}

/// AdaGrad (`torch.optim.Adagrad`), with learning-rate decay and an initial accumulator value.
public final class AdaGrad: Optimizer {
    public let arena: ParameterArena
    public var learningRate: Float
    public let learningRateDecay: Float, weightDecay: Float, epsilon: Float
    private let counter = Counter()
    public var stepCount: Int { Int(counter.value) }
    private let sumOfSquares: Parameter

    public init(_ arena: ParameterArena, learningRate: Float = 1e-2, learningRateDecay: Float = 0,
                weightDecay: Float = 0, initialAccumulatorValue: Float = 0, epsilon: Float = 1e-10) {
        precondition(learningRate >= 0 && learningRateDecay >= 0 && weightDecay >= 0 && initialAccumulatorValue >= 0,
                     "AdaGrad needs non-negative hyperparameters")
        self.arena = arena
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.weightDecay = weightDecay
        self.epsilon = epsilon
        sumOfSquares = stateBuffer(arena.count, initialValue: initialAccumulatorValue)
    }

    public func step() {
        counter.value += 1
        let clr = Float(Double(learningRate) / (1 + Double(stepCount - 1) * Double(learningRateDecay)))
        let p = arena.values, grad = arena.grads, s = sumOfSquares.value
        let epsilon = epsilon, weightDecay = weightDecay  // locals: see SGD.step
        for i in 0..<arena.count {
            var g = grad[i]
            if weightDecay != 0 { g = g + weightDecay * p[i] }
            s[i] = s[i] + g * g
            p[i] = p[i] + (-clr) * (g / (s[i].squareRoot() + epsilon))
        }
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        [StateEntry(name: prefix + "sum", storage: .parameter(sumOfSquares)),
         StateEntry(name: prefix + "step", storage: .counter(counter))]
    }
}

/// RMSProp (`torch.optim.RMSprop`), optionally centered and with momentum.
public final class RMSProp: Optimizer {
    public let arena: ParameterArena
    public var learningRate: Float
    public let alpha: Float, epsilon: Float, weightDecay: Float, momentum: Float, centered: Bool
    private let counter = Counter()
    public var stepCount: Int { Int(counter.value) }
    private let squareAverage: Parameter, gradientAverage: Parameter, momentumBuffer: Parameter

    public init(_ arena: ParameterArena, learningRate: Float = 1e-2, alpha: Float = 0.99, epsilon: Float = 1e-8,
                weightDecay: Float = 0, momentum: Float = 0, centered: Bool = false) {
        precondition(learningRate >= 0 && epsilon >= 0 && weightDecay >= 0 && momentum >= 0 && alpha >= 0,
                     "RMSProp needs non-negative hyperparameters")
        self.arena = arena
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        squareAverage = stateBuffer(arena.count)
        gradientAverage = stateBuffer(centered ? arena.count : 0)
        momentumBuffer = stateBuffer(momentum > 0 ? arena.count : 0)
    }

    public func step() {
        counter.value += 1
        let p = arena.values, grad = arena.grads
        let s = squareAverage.value, gAvg = gradientAverage.value, buf = momentumBuffer.value
        let learningRate = learningRate, alpha = alpha, epsilon = epsilon, weightDecay = weightDecay  // see SGD.step
        let momentum = momentum, centered = centered
        for i in 0..<arena.count {
            var g = grad[i]
            if weightDecay != 0 { g = g + weightDecay * p[i] }
            s[i] = s[i] * alpha + (1 - alpha) * g * g
            var average: Float
            if centered {
                gAvg[i] = gAvg[i] + (1 - alpha) * (g - gAvg[i])
                average = (s[i] + (-1) * gAvg[i] * gAvg[i]).squareRoot()
            } else {
                average = s[i].squareRoot()
            }
            average += epsilon
            if momentum > 0 {
                buf[i] = buf[i] * momentum + g / average
                p[i] = p[i] + (-learningRate) * buf[i]
            } else {
                p[i] = p[i] + (-learningRate) * (g / average)
            }
        }
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries = [StateEntry(name: prefix + "square_avg", storage: .parameter(squareAverage)),
                       StateEntry(name: prefix + "step", storage: .counter(counter))]
        if centered { entries.append(StateEntry(name: prefix + "grad_avg", storage: .parameter(gradientAverage))) }
        if momentum > 0 { entries.append(StateEntry(name: prefix + "momentum_buffer", storage: .parameter(momentumBuffer))) }
        return entries
    }
}
