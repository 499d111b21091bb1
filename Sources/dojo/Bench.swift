import ArgumentParser
import Foundation
import Neural
import Training

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Dojo's speed on standard workloads.",
        discussion: """
            Absolute times on a shared machine are noise; compare ratios measured side by side. The scripts under \
            bench/ run the same workloads on the Python anchors (PyTorch, Gymnasium, ...) in the same run and print \
            ratios.
            """,
        subcommands: [NeuralNetworks.self, Environments.self]
    )
}

extension Bench {
    struct NeuralNetworks: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nn",
            abstract: "Time one training iteration (forward, backward, Adam) of five network sizes.",
            discussion: """
                Workloads: mlp-small (4→64→64→2, batch 64), mlp-medium (128→256→256→5, batch 256), \
                lstm-small (in 64, hidden 128, batch 16, seq 32), attention (E 64, 4 heads, batch 64, 16 tokens, \
                padding mask), lstm-large (in 256, hidden 512, batch 64, seq 64). Each iteration: zero gradients, \
                forward, MSE loss, backward, Adam step. GFLOP/s counts matrix-product work; the ceiling is a 512³ \
                sgemm measured in the same run: in --rounds rounds, the ceiling and then each workload, and each \
                figure is its best round (other processes only slow a round down). Compare with PyTorch:
                python3 bench/nn_vs_torch.py

                --profile shows where each workload's time goes instead: forward + loss, backward and the optimizer, \
                and within each the matrix products (calls, average size, GFLOP/s) and the rest (elementwise passes, \
                copies). Products timed one by one run a little slower than unprofiled.

                  dojo bench nn --profile --only attention
                """
        )

        @OptionGroup var compute: ComputeOptions
        @Option(help: "Run only these workloads (comma-separated names).")
        var only: String?
        @Option(help: "Seconds each workload runs per round.")
        var seconds: Double = 0.3
        @Option(help: "Rounds of the ceiling and every workload, interleaved; each figure is its best round.")
        var rounds: Int = 5
        @Flag(help: "Print one JSON object instead of a table.")
        var json = false
        @Flag(help: "Show where each workload's time goes: phases, and matrix products against the rest.")
        var profile = false

        func validate() throws {
            let known = NeuralBenchmark.workloads().map(\.name)
            for name in selectedNames ?? [] where !known.contains(name) {
                throw ValidationError("unknown workload '\(name)'; choose from \(known.joined(separator: ", ")).")
            }
            guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600] (got \(seconds)).") }
            guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be in 1...100 (got \(rounds)).") }
        }

        var selectedNames: [String]? { only?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

        func run() throws {
            BLASThreads.set(compute.threads)
            let workloads = NeuralBenchmark.workloads().filter { selectedNames?.contains($0.name) ?? true }
            if profile { return try printProfiles(workloads) }
            let (ceiling, results) = NeuralBenchmark.measureInterleaved(workloads, rounds: rounds, secondsPerRound: seconds)
            if !json {
                print("Dojo neural benchmark: \(compute.threads) thread(s), OpenBLAS core \(BLASThreads.coreName), "
                      + "sgemm ceiling \(String(format: "%.1f", ceiling)) GFLOP/s (512³, best of \(rounds) rounds interleaved "
                      + "with the workloads)")
                print(pad("workload", 12) + pad("ms/iter", 11, right: true) + pad("GFLOP/s", 10, right: true)
                      + pad("% ceiling", 11, right: true) + "  shape")
            }
            for result in results {
                if !json {
                    print(pad(result.name, 12) + pad(String(format: "%.4f", result.millisecondsPerIteration), 11, right: true)
                          + pad(String(format: "%.1f", result.gflops), 10, right: true)
                          + pad(String(format: "%.0f%%", 100 * result.gflops / ceiling), 11, right: true)
                          + "  " + result.summary)
                }
            }
            if json {
                struct Report: Codable {
                    let threads: Int, core: String, sgemmCeilingGFLOPS: Double
                    let workloads: [NeuralBenchmark.Result]
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let report = Report(threads: compute.threads, core: BLASThreads.coreName, sgemmCeilingGFLOPS: ceiling,
                                    workloads: results)
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        }
    }
}

extension Bench.NeuralNetworks {
    func printProfiles(_ workloads: [NeuralWorkload]) throws {
        let ceiling = NeuralBenchmark.sgemmCeiling()
        let profiles = workloads.map { NeuralBenchmark.profile($0, seconds: seconds * Double(rounds)) }
        if json {
            struct Report: Codable {
                let threads: Int, core: String, sgemmCeilingGFLOPS: Double
                let profiles: [NeuralBenchmark.Profile]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let report = Report(threads: compute.threads, core: BLASThreads.coreName, sgemmCeilingGFLOPS: ceiling, profiles: profiles)
            return print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
        print("Dojo neural profile: \(compute.threads) thread(s), OpenBLAS core \(BLASThreads.coreName), "
              + "sgemm ceiling \(String(format: "%.1f", ceiling)) GFLOP/s (512³)")
        for profile in profiles {
            let total = max(profile.millisecondsPerIteration, 1e-12)
            print("\n\(profile.name) (\(profile.summary)): \(String(format: "%.4f", total)) ms an iteration")
            print("  " + pad("phase", 16) + pad("ms/iter", 10, right: true) + pad("share", 8, right: true)
                  + pad("products", 10, right: true) + pad("calls", 7, right: true) + pad("avg m·n·k", 11, right: true)
                  + pad("GFLOP/s", 9, right: true) + pad("% ceil", 8, right: true) + pad("rest ms", 9, right: true))
            var products = 0.0
            for phase in profile.phases {
                products += phase.productMillisecondsPerIteration
                let rate = phase.productMillisecondsPerIteration > 0
                    ? 2 * phase.meanMultiplyAdds * Double(phase.productsPerIteration) / (phase.productMillisecondsPerIteration * 1e-3) / 1e9 : 0
                print("  " + pad(phase.name, 16) + pad(String(format: "%.4f", phase.millisecondsPerIteration), 10, right: true)
                      + pad(String(format: "%.0f%%", 100 * phase.millisecondsPerIteration / total), 8, right: true)
                      + pad(String(format: "%.4f", phase.productMillisecondsPerIteration), 10, right: true)
                      + pad("\(phase.productsPerIteration)", 7, right: true)
                      + pad(String(format: "%.0f", phase.meanMultiplyAdds), 11, right: true)
                      + pad(rate > 0 ? String(format: "%.1f", rate) : "-", 9, right: true)
                      + pad(rate > 0 ? String(format: "%.0f%%", 100 * rate / ceiling) : "-", 8, right: true)
                      + pad(String(format: "%.4f", phase.millisecondsPerIteration - phase.productMillisecondsPerIteration), 9, right: true))
            }
            print(String(format: "  matrix products %.0f%% of the time; the rest (elementwise passes, copies, optimizer) %.0f%%",
                         100 * products / total, 100 - 100 * products / total))
        }
    }
}

extension Bench {
    struct Environments: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "envs",
            abstract: "Environment steps per second with random actions, single and vectorized.",
            discussion: """
                Every environment configuration, with 1, 8 and 64 copies on one thread and 64 copies on --threads \
                threads (gridworld with MiniGrid's default 7×7 partial view). Compare with Gymnasium, EnvPool and \
                MiniGrid: python3 bench/envs_vs_python.py

                The "vs 1" column is the multi-thread rate over the one-thread rate. The two are measured side by \
                side, in alternating rounds, each the median of its rounds, so that the machine's other load hits \
                both alike. With --busy, the largest copy count is measured again while a spinning thread keeps one \
                core busy, as another process on a shared machine would.

                  dojo bench envs --only gridworld-four-rooms --copies 64 --threads 2 --busy
                """)

        @Option(help: "Threads for the multi-threaded run (at most the machine's cores are used).")
        var threads: Int = 2
        @Option(help: "Copy counts, comma-separated (the largest is also run on --threads threads).")
        var copies: String = "1,8,64"
        @Option(help: "Run only these configurations (comma-separated).")
        var only: String?
        @Option(help: "Seconds per measurement.")
        var seconds: Double = 0.5
        @Flag(help: "Also measure the largest copy count with a spinning thread keeping one core busy.")
        var busy = false
        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func validate() throws {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads)).") }
            guard seconds > 0, seconds.isFinite else { throw ValidationError("--seconds must be a positive number (got \(seconds)).") }
            guard let counts = copyCounts else {
                throw ValidationError("--copies takes positive whole numbers separated by commas, e.g. 1,8,64 (got '\(copies)').")
            }
            guard counts.allSatisfy({ $0 <= 1 << 20 }) else { throw ValidationError("--copies: at most 1048576 copies (got '\(copies)').") }
            let known = EnvironmentBenchmark.configurations.map(\.name)
            for name in selectedNames ?? [] where !known.contains(name) {
                throw ValidationError("unknown configuration '\(name)'; choose from \(known.joined(separator: ", ")).")
            }
        }

        /// The copy counts, or nil when one of them is not a positive whole number.
        var copyCounts: [Int]? {
            let counts = copies.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
            return counts.compactMap { $0 }
        }

        var selectedNames: [String]? { only?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

        func run() throws {
            // The name column fits the longest configuration measured.
            let nameWidth = EnvironmentBenchmark.configurations.map(\.name).filter { selectedNames?.contains($0) ?? true }
                .map(\.count).max().map { max($0 + 2, 24) } ?? 24
            if !json {
                print(pad("configuration", nameWidth) + pad("copies", 8, right: true) + pad("threads", 9, right: true)
                      + pad("steps/s", 16, right: true) + (busy ? pad("load", 7, right: true) : "") + pad("vs 1", 8, right: true))
            }
            let results = try EnvironmentBenchmark.run(copyCounts: copyCounts ?? [], threads: threads, seconds: seconds,
                                                       only: selectedNames, busy: busy) { result in
                if !json {
                    print(pad(result.configuration, nameWidth) + pad("\(result.copies)", 8, right: true)
                          + pad("\(result.threads)", 9, right: true)
                          + pad(String(format: "%.0f", result.stepsPerSecond), 16, right: true)
                          + (busy ? pad(result.busy ? "busy" : "quiet", 7, right: true) : "")
                          + pad(result.speedup.map { String(format: "%.2f×", $0) } ?? "", 8, right: true))
                }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(results), as: UTF8.self))
            }
        }
    }
}

/// Left- or right-aligns `text` in a column of `width` characters.
func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}
