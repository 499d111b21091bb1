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

    /// The configurations: the registry's benchmarked variants (name, registry id, options). Gridworld uses
    /// MiniGrid's default 7×7 partial view.
    public static var configurations: [(name: String, id: String, options: [String: String])] {
        EnvironmentRegistry.entries.flatMap { entry in
            entry.configurations.filter(\.benchmarked).map { (name: $0.name, id: entry.id, options: $0.options) }
        }
    }

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
                let entry = try EnvironmentRegistry.entry(configuration.id)
                let rates = try measure(seconds: seconds, threadCounts: run.threadCounts) { threads in
                    try entry.makeRandomStepper(configuration.options, run.copies, threads)
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

    /// Environment steps per second of the steppers `makeStepper` builds for each of `threadCounts` (random actions
    /// drawn in advance): `seconds` of stepping for each, in ``rounds`` alternating rounds when there are several, each
    /// rate the median over its rounds. The registry builds each stepper with its concrete environment type, so no
    /// existential call sits in the loop.
    static func measure(seconds: Double, threadCounts: [Int], makeStepper: (Int) throws -> (Double) -> Double) throws -> [Double] {
        let steppers = try threadCounts.map(makeStepper)
        if steppers.count == 1 { return [steppers[0](seconds)] }
        // Untimed: calibration, and a first choice between one thread and the split.
        for stepper in steppers { _ = stepper(seconds / Double(rounds)) }
        var rates = [[Double]](repeating: [], count: steppers.count)
        for _ in 0..<rounds {
            for (index, stepper) in steppers.enumerated() {
                rates[index].append(stepper(seconds / Double(rounds)))
            }
        }
        return rates.map { $0.sorted()[$0.count / 2] }
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
