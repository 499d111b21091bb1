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
    public static func run(copyCounts: [Int] = [1, 8, 64], threads: Int = 2, seconds: Double = 0.5, only: [String]? = nil,
                           busy: Bool = false, progress: (Result) -> Void = { _ in }) throws -> [Result] {
        var results: [Result] = []
        for configuration in configurations where only?.contains(configuration.name) ?? true {
            var runs = copyCounts.map { ($0, 1, false) }
            if let largest = copyCounts.max() {
                if threads > 1 { runs.append((largest, threads, false)) }
                if busy { runs += [(largest, 1, true)] + (threads > 1 ? [(largest, threads, true)] : []) }
            }
            for (copies, threadCount, loaded) in runs {
                let load = loaded ? BusyLoad() : nil
                defer { load?.stop() }
                let rate: Double
                switch configuration.id {
                case "cartpole":
                    rate = try measure(seconds: seconds, copies: copies, threads: threadCount) { _ in
                        let env = try CartPole(options: configuration.options)
                        return TimeLimit(env, maxSteps: env.options.int("max_steps"))
                    }
                case "arm":
                    rate = try measure(seconds: seconds, copies: copies, threads: threadCount) { _ in
                        let env = try RobotArm(options: configuration.options)
                        return TimeLimit(env, maxSteps: env.maxSteps)
                    }
                case "highway":
                    rate = try measure(seconds: seconds, copies: copies, threads: threadCount) { _ in
                        let env = try Highway(options: configuration.options)
                        return TimeLimit(env, maxSteps: env.maxSteps)
                    }
                default:
                    rate = try measure(seconds: seconds, copies: copies, threads: threadCount) { _ in
                        let env = try GridWorld(options: configuration.options)
                        return TimeLimit(env, maxSteps: env.maxSteps)
                    }
                }
                load?.stop()
                // The threads actually used: the vector environment never runs more than the machine's cores.
                let used = min(threadCount, max(1, ProcessInfo.processInfo.activeProcessorCount))
                var result = Result(environment: configuration.id, configuration: configuration.name, copies: copies,
                                    threads: used, stepsPerSecond: rate, busy: loaded)
                if threadCount > 1, let single = results.last(where: { $0.configuration == configuration.name
                    && $0.copies == copies && $0.threads == 1 && $0.busy == loaded }) {
                    result.speedup = rate / single.stepsPerSecond
                }
                results.append(result)
                progress(result)
            }
        }
        return results
    }

    /// Environment steps per second of `copies` copies stepped with random actions (drawn in advance) on `threads`.
    /// Specialized per concrete environment type, so no existential calls sit in the loop.
    static func measure<E: Environment>(seconds: Double, copies: Int, threads: Int,
                                        make: (Int) throws -> E) rethrows -> Double {
        let vector = try VectorEnvironment(count: copies, threads: threads, make: make)
        vector.reset(seed: 1)
        let batches = 256
        var actions = [Float](repeating: 0, count: batches * copies * vector.actionWidth)
        var rng = SeededGenerator(seed: 2)
        let space = vector.environments[0].actionSpace
        actions.withUnsafeMutableBufferPointer { buffer in
            for row in 0..<(batches * copies) { space.sample(into: buffer.baseAddress! + row * vector.actionWidth, using: &rng) }
        }
        return actions.withUnsafeBufferPointer { buffer -> Double in
            let base = buffer.baseAddress!, stride = copies * vector.actionWidth
            var iterations = 64
            while true {
                let start = DispatchTime.now().uptimeNanoseconds
                for i in 0..<iterations { vector.step(base + (i % batches) * stride) }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if elapsed >= seconds || iterations >= 1 << 30 { return Double(iterations * copies) / elapsed }
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
