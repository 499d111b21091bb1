import Dispatch
import Environments
import Foundation
import Sim
import Synchronization

/// The `dojo bench envs` workloads: random-action stepping of every environment, single and vectorized.
/// `bench/envs_vs_python.py` runs the same configurations on Gymnasium, EnvPool and MiniGrid.
public enum EnvironmentBenchmark {
    public struct Result: Codable, Sendable {
        public let environment: String
        public let configuration: String
        public let copies: Int
        public let threads: Int
        public let stepsPerSecond: Double
        /// Whether a spinning background thread (``BusyLoad``) competed for the cores during the measurement.
        public let busy: Bool
        /// For a run on several threads: its rate over the one-thread rate at the same copy count and load.
        public var speedup: Double?
    }

    /// The configurations: (name, registry id, options). Gridworld uses MiniGrid's default 7×7 partial view.
    public static let configurations: [(name: String, id: String, options: [String: String])] = [
        ("cartpole", "cartpole", [:]),
        ("gridworld-four-rooms", "gridworld", ["map": "four-rooms", "observation": "partial"]),
        ("gridworld-empty-8x8", "gridworld", ["map": "empty", "observation": "partial"]),
        ("highway-v0", "highway", ["scenario": "highway"]),
        ("highway-fast-v0", "highway", ["scenario": "highway-fast"]),
        ("arm-reach", "arm", ["task": "reach"]),
        ("arm-push", "arm", ["task": "push"]),
    ]

    /// Runs every configuration at each copy count on one thread, and the largest count on `threads` threads too.
    /// With `busy`, the largest count is measured again on one thread and on `threads` threads while a
    /// ``BusyLoad`` thread keeps one core busy, as another process on a shared machine would.
    ///
    /// A multi-thread rate and the one-thread rate it is compared with are measured side by side: in alternating
    /// rounds, each rate the median of its rounds, so that a change in the machine's load (on a shared machine the
    /// one-thread rate alone varies by a third from second to second) hits both alike instead of deciding the ratio.
    public static func run(copyCounts: [Int] = [1, 8, 64], threads: Int = 2, seconds: Double = 0.5, only: [String]? = nil,
                           busy: Bool = false, progress: (Result) -> Void = { _ in }) throws -> [Result] {
        var results: [Result] = []
        // The threads actually used: the vector environment never runs more than the machine's cores.
        let used = min(threads, max(1, ProcessInfo.processInfo.activeProcessorCount))
        for configuration in configurations where only?.contains(configuration.name) ?? true {
            let largest = copyCounts.max()
            var runs: [(copies: Int, threadCounts: [Int], loaded: Bool)] = copyCounts.map { copies in
                (copies, copies == largest && used > 1 ? [1, used] : [1], false)
            }
            if busy, let largest { runs.append((largest, used > 1 ? [1, used] : [1], true)) }
            for run in runs {
                let load = run.loaded ? BusyLoad() : nil
                defer { load?.stop() }
                let rates: [Double]
                switch configuration.id {
                case "cartpole":
                    rates = try measure(seconds: seconds, copies: run.copies, threadCounts: run.threadCounts) { _ in
                        let env = try CartPole(options: configuration.options)
                        return TimeLimit(env, maxSteps: env.options.int("max_steps"))
                    }
                case "arm":
                    rates = try measure(seconds: seconds, copies: run.copies, threadCounts: run.threadCounts) { _ in
                        let env = try RobotArm(options: configuration.options)
                        return TimeLimit(env, maxSteps: env.maxSteps)
                    }
                case "highway":
                    rates = try measure(seconds: seconds, copies: run.copies, threadCounts: run.threadCounts) { _ in
                        let env = try Highway(options: configuration.options)
                        return TimeLimit(env, maxSteps: env.maxSteps)
                    }
                default:
                    rates = try measure(seconds: seconds, copies: run.copies, threadCounts: run.threadCounts) { _ in
                        let env = try GridWorld(options: configuration.options)
                        return TimeLimit(env, maxSteps: env.maxSteps)
                    }
                }
                load?.stop()
                for (threadCount, rate) in zip(run.threadCounts, rates) {
                    var result = Result(environment: configuration.id, configuration: configuration.name,
                                        copies: run.copies, threads: threadCount, stepsPerSecond: rate, busy: run.loaded)
                    if threadCount > 1 { result.speedup = rate / rates[0] }
                    results.append(result)
                    progress(result)
                }
            }
        }
        return results
    }

    /// Rounds each rate of a side-by-side comparison is measured in.
    static let rounds = 9

    /// Environment steps per second of `copies` copies stepped with random actions (drawn in advance), on each of
    /// `threadCounts`: `seconds` of stepping for each, in ``rounds`` alternating rounds when there are several, each
    /// rate the median over its rounds. Specialized per concrete environment type, so no existential calls sit in
    /// the loop.
    static func measure<E: Environment>(seconds: Double, copies: Int, threadCounts: [Int],
                                        make: (Int) throws -> E) throws -> [Double] {
        let steppers = try threadCounts.map { try RandomStepper(copies: copies, threads: $0, make: make) }
        if steppers.count == 1 { return [steppers[0].rate(seconds: seconds)] }
        // Untimed: calibration, and a first choice between one thread and the split.
        for stepper in steppers { _ = stepper.rate(seconds: seconds / Double(rounds)) }
        var rates = [[Double]](repeating: [], count: steppers.count)
        for _ in 0..<rounds {
            for (index, stepper) in steppers.enumerated() {
                rates[index].append(stepper.rate(seconds: seconds / Double(rounds)))
            }
        }
        return rates.map { $0.sorted()[$0.count / 2] }
    }
}

/// A vector environment stepped with random actions drawn in advance.
final class RandomStepper<E: Environment> {
    let vector: VectorEnvironment<E>
    private let actions: [Float]
    /// Rows of actions drawn in advance (cycled).
    private static var batches: Int { 256 }

    init(copies: Int, threads: Int, make: (Int) throws -> E) throws {
        let vector = try VectorEnvironment(count: copies, threads: threads, make: make)
        vector.reset(seed: 1)
        let batches = Self.batches, width = vector.actionWidth
        var actions = [Float](repeating: 0, count: batches * copies * width)
        var rng = SeededGenerator(seed: 2)
        let space = vector.environments[0].actionSpace
        actions.withUnsafeMutableBufferPointer { buffer in
            for row in 0..<(batches * copies) { space.sample(into: buffer.baseAddress! + row * width, using: &rng) }
        }
        self.vector = vector
        self.actions = actions
    }

    /// Steps for about `seconds` (at least 64 steps) and returns environment steps per second.
    func rate(seconds: Double) -> Double {
        actions.withUnsafeBufferPointer { buffer -> Double in
            let base = buffer.baseAddress!, stride = vector.count * vector.actionWidth, batches = Self.batches
            var iterations = 64
            while true {
                let start = DispatchTime.now().uptimeNanoseconds
                for i in 0..<iterations { vector.step(base + (i % batches) * stride) }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if elapsed >= seconds || iterations >= 1 << 30 { return Double(iterations * vector.count) / elapsed }
                iterations = elapsed < seconds / 20 ? iterations * 8 : Int(Double(iterations) * seconds / elapsed * 1.1)
            }
        }
    }
}

/// A thread that spins until stopped, keeping one core busy: the other process on a shared machine, on demand.
public final class BusyLoad: @unchecked Sendable {
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)

    public init() {
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {}
            stopped.store(true, ordering: .releasing)
        }
        thread.start()
    }

    /// Stops the spinning thread and waits until it has left its loop (calling it again does nothing).
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        while !stopped.load(ordering: .acquiring) { usleep(100) }
    }
}
