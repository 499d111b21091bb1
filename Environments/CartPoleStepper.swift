import Sim

/// The states of cart-pole copies as structure of arrays: x (m), ẋ (m/s), θ (rad), θ̇ (rad/s) and the steps taken
/// since termination, one array each, so that four neighbouring copies load and store as one SIMD vector.
final class CartPoleStates {
    let count: Int
    let x, xDot, theta, thetaDot: UnsafeMutablePointer<Double>
    /// Steps taken since termination, −1 before it (Gymnasium's `steps_beyond_terminated` of None).
    let stepsBeyondTerminated: UnsafeMutablePointer<Int>
    /// False once a copy has moved to another block: the block no longer holds all its copies' states.
    var isCurrent = true
    private let memory: UnsafeMutableRawPointer

    init(count: Int) {
        self.count = count
        let stride = (count + 7) / 8 * 8  // each array on its own cache lines (a block per thread never shares one)
        memory = .allocate(byteCount: 5 * stride * 8, alignment: 64)
        let doubles = memory.initializeMemory(as: Double.self, repeating: 0, count: 4 * stride)
        (x, xDot, theta, thetaDot) = (doubles, doubles + stride, doubles + 2 * stride, doubles + 3 * stride)
        stepsBeyondTerminated = (memory + 4 * stride * 8).initializeMemory(as: Int.self, repeating: -1, count: stride)
    }

    deinit { memory.deallocate() }
}

extension CartPole {
    /// Steps copies whose states it gathered into one ``CartPoleStates`` block, four at a time in `SIMD4<Double>`
    /// lanes: actions, the C library's sin and cos (``LaneTrig``), the dynamics, termination, reward and
    /// observations. A group of four with a terminated copy or an action other than 0 or 1 is finished (or refused)
    /// copy by copy, as is a last group of fewer than four.
    final class Stepper: BatchStepper {
        private let copies: [CartPole]
        private let states: CartPoleStates
        private let semiImplicit: Bool
        private let observesVelocity: Bool
        /// The reward of a step that does not terminate.
        private let runningReward: Float

        /// Copies with the same integrator, reward and observation (``CartPole/batchStepper(for:)`` checks).
        init(_ copies: [CartPole]) {
            self.copies = copies
            states = CartPoleStates(count: copies.count)
            for (slot, copy) in copies.enumerated() { copy.move(to: states, slot: slot) }
            semiImplicit = copies.first?.semiImplicit ?? false
            observesVelocity = copies.first?.observesVelocity ?? true
            runningReward = copies.first?.suttonBartoReward == true ? 0 : 1
        }

        func step(_ range: Range<Int>, actions: UnsafePointer<Float>, observations: UnsafeMutablePointer<Float>,
                  results: UnsafeMutablePointer<StepResult>) {
            guard states.isCurrent else { return stepEach(range, actions, observations, results) }
            var i = range.lowerBound
            while i + 4 <= range.upperBound {
                if !stepLanes(i, actions, observations, results) { stepEach(i..<i + 4, actions, observations, results) }
                i += 4
            }
            stepEach(i..<range.upperBound, actions, observations, results)
        }

        /// Steps copies `i..<i+4` in lanes; false, having changed nothing, when an action is not 0 or 1.
        @inline(__always)
        private func stepLanes(_ i: Int, _ actions: UnsafePointer<Float>, _ observations: UnsafeMutablePointer<Float>,
                               _ results: UnsafeMutablePointer<StepResult>) -> Bool {
            let action = UnsafeRawPointer(actions + i).loadUnaligned(as: SIMD4<Float>.self)
            guard all((action .== SIMD4(repeating: 0)) .| (action .== SIMD4(repeating: 1))) else { return false }
            let force = (SIMD4<Double>(action) * 2 - 1) * CartPole.forceMagnitude  // ±10 N exactly
            func load(_ array: UnsafeMutablePointer<Double>) -> SIMD4<Double> {
                UnsafeRawPointer(array + i).loadUnaligned(as: SIMD4<Double>.self)
            }
            func store(_ value: SIMD4<Double>, _ array: UnsafeMutablePointer<Double>) {
                UnsafeMutableRawPointer(array + i).storeBytes(of: value, as: SIMD4<Double>.self)
            }
            var state = (x: load(states.x), xDot: load(states.xDot), theta: load(states.theta), thetaDot: load(states.thetaDot))
            let (sinTheta, cosTheta) = LaneTrig.sinCos(state.theta)
            CartPole.advance(&state, force: force, cos: cosTheta, sin: sinTheta, semiImplicit: semiImplicit)
            store(state.x, states.x); store(state.xDot, states.xDot)
            store(state.theta, states.theta); store(state.thetaDot, states.thetaDot)

            let xLimit = SIMD4(repeating: CartPole.xThreshold), thetaLimit = SIMD4(repeating: CartPole.thetaThreshold)
            let terminated = (state.x .< -xLimit) .| (state.x .> xLimit) .| (state.theta .< -thetaLimit) .| (state.theta .> thetaLimit)
            if any(terminated) {
                copies.withUnsafeBufferPointer { copies in
                    for k in 0..<4 {
                        results[i + k] = Unmanaged.passUnretained(copies[i + k])._withUnsafeGuaranteedRef { copy in
                            copy.finishStep(observations + (i + k) * (observesVelocity ? 4 : 2))
                        }
                    }
                }
                return true
            }
            let (x, xDot) = (SIMD4<Float>(state.x), SIMD4<Float>(state.xDot))
            let (theta, thetaDot) = (SIMD4<Float>(state.theta), SIMD4<Float>(state.thetaDot))
            for k in 0..<4 {
                results[i + k] = StepResult(reward: runningReward, terminated: false)
                if observesVelocity {
                    let row = observations + (i + k) * 4
                    (row[0], row[1], row[2], row[3]) = (x[k], xDot[k], theta[k], thetaDot[k])
                } else {
                    let row = observations + (i + k) * 2
                    (row[0], row[1]) = (x[k], theta[k])
                }
            }
            return true
        }

        /// Steps copies `range` one by one (each through its slot of the block, or its own state once moved).
        private func stepEach(_ range: Range<Int>, _ actions: UnsafePointer<Float>, _ observations: UnsafeMutablePointer<Float>,
                              _ results: UnsafeMutablePointer<StepResult>) {
            let size = observesVelocity ? 4 : 2
            copies.withUnsafeBufferPointer { copies in
                for j in range {
                    // The array keeps the copy alive: borrowed without reference counting.
                    results[j] = Unmanaged.passUnretained(copies[j])._withUnsafeGuaranteedRef { copy in
                        copy.step(actions + j, observation: observations + j * size)
                    }
                }
            }
        }
    }
}
