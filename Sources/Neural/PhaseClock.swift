import Foundation

/// Where a run's wall-clock goes (`dojo train --profile`): one phase is current at a time, and `enter` charges the
/// time since the last switch to the phase that was current. Trainers mark the coarse phases, agents the parts of a
/// gradient step; switching costs one monotonic clock read and allocates nothing.
public final class PhaseClock {
    public enum Phase: Int, CaseIterable, Sendable {
        /// Stepping the environment copies (and resets).
        case environment
        /// The policy's forward pass to act (and exploration noise).
        case acting
        /// Replay sampling, relabelling and minibatch gathering; PPO's rollout bookkeeping (advantages).
        case sampling
        /// Forward passes and losses of a gradient step.
        case forward
        /// Backward passes.
        case backward
        /// Gradient clipping, optimizer steps and target-network updates.
        case optimizer
        /// Metrics rows, TensorBoard and the progress line.
        case logging
        /// Greedy evaluation episodes.
        case evaluation
        /// Writing checkpoints.
        case checkpoint
        /// Everything else (the loop itself, storing transitions).
        case other

        public var name: String {
            switch self {
            case .environment: return "environment steps"
            case .acting: return "acting (policy forward)"
            case .sampling: return "replay sampling / batching"
            case .forward: return "learning: forward + loss"
            case .backward: return "learning: backward"
            case .optimizer: return "learning: optimizer"
            case .logging: return "logging"
            case .evaluation: return "evaluation"
            case .checkpoint: return "checkpoints"
            case .other: return "other"
            }
        }
    }

    /// Seconds charged to each phase, by raw value.
    public private(set) var seconds = [Double](repeating: 0, count: Phase.allCases.count)
    /// Times each phase was entered.
    public private(set) var entries = [Int](repeating: 0, count: Phase.allCases.count)
    public private(set) var current = Phase.other
    private var since = PhaseClock.now()

    public init() {}

    /// Seconds of matrix products (``gemm`` calls) within each phase, their number and their multiply-adds (m·n·k),
    /// while this clock times products (``timeProducts(_:)``).
    public private(set) var productSeconds = [Double](repeating: 0, count: Phase.allCases.count)
    public private(set) var productCalls = [Int](repeating: 0, count: Phase.allCases.count)
    public private(set) var productMultiplyAdds = [Double](repeating: 0, count: Phase.allCases.count)

    /// Where each thread keeps the clock its ``gemm`` calls are charged to: products are timed per thread, so a
    /// profile of one thread never touches products other threads compute.
    private static let productClockKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The clock this thread's ``gemm`` calls are charged to (nil: products are not timed, the default).
    @usableFromInline static var productClock: PhaseClock? {
        pthread_getspecific(productClockKey).map { Unmanaged<PhaseClock>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Starts or stops charging this thread's matrix products to this clock's current phase. Stop before the clock
    /// is released (releasing it on the thread that set it stops it too).
    public func timeProducts(_ enabled: Bool) {
        if enabled {
            pthread_setspecific(Self.productClockKey, Unmanaged.passUnretained(self).toOpaque())
        } else if Self.productClock === self {
            pthread_setspecific(Self.productClockKey, nil)
        }
    }

    deinit {
        if pthread_getspecific(Self.productClockKey) == Unmanaged.passUnretained(self).toOpaque() {
            pthread_setspecific(Self.productClockKey, nil)
        }
    }

    @usableFromInline
    func chargeProduct(seconds: Double, multiplyAdds: Int) {
        productSeconds[current.rawValue] += seconds
        productCalls[current.rawValue] += 1
        productMultiplyAdds[current.rawValue] += Double(multiplyAdds)
    }

    /// Monotonic time in seconds.
    @inline(__always) @usableFromInline
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// Charges the time since the last switch to the current phase and makes `phase` current.
    @inline(__always)
    public func enter(_ phase: Phase) {
        charge()
        entries[phase.rawValue] += 1
        current = phase
    }

    /// Total seconds charged so far, the current phase's included up to now.
    public func total() -> Double {
        charge()
        return seconds.reduce(0, +)
    }

    @inline(__always)
    private func charge() {
        let time = Self.now()
        seconds[current.rawValue] += time - since
        since = time
    }

    /// A table of the phases (seconds, share of the total) for a run of `steps` environment steps, with the shares
    /// of network work, environment steps and the rest.
    public func report(steps: Int) -> String {
        let total = max(total(), 1e-9)
        var lines = [String(format: "where the time went: %.1f s for %d steps (%.0f steps/s)", total, steps, Double(steps) / total)]
        for phase in Phase.allCases {
            lines.append("  " + phase.name.padding(toLength: 28, withPad: " ", startingAt: 0)
                         + String(format: "%9.2f s  %5.1f%%", seconds[phase.rawValue], 100 * seconds[phase.rawValue] / total)
                         + ([.evaluation, .checkpoint].contains(phase) ? "  (\(entries[phase.rawValue]) times)" : ""))
        }
        let share = { (phases: [Phase]) in 100 * phases.reduce(0) { $0 + self.seconds[$1.rawValue] } / total }
        let network = share([.acting, .forward, .backward, .optimizer]), environment = share([.environment])
        lines.append(String(format: "  network work %.1f%%, environment steps %.1f%%, everything else %.1f%%", network, environment,
                            100 - network - environment))
        let productTime = productSeconds.reduce(0, +)
        if productTime > 0 {
            lines.append(String(format: "  of the network work, matrix products %.1f%% of the run (%d calls, %.1f GFLOP/s)",
                                100 * productTime / total, productCalls.reduce(0, +),
                                2 * productMultiplyAdds.reduce(0, +) / productTime / 1e9))
        }
        return lines.joined(separator: "\n")
    }
}
