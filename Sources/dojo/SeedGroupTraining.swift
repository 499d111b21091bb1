import ArgumentParser
import Foundation
import Training

/// `dojo train --seeds 0-4`: one `dojo train` process per seed, `jobs` at a time, each on one thread, into a group
/// folder (`<folder>/seed<S>`, with `group.json`), with a line of progress per seed and a summary at the end. Ctrl-C
/// stops every run at a checkpoint; `dojo train --resume <folder>` continues the group.
struct SeedGroupTraining {
    let folder: String
    let group: RunGroup
    let jobs: Int
    /// A new budget for every run (--steps with --resume).
    let steps: Int?

    /// The arguments of seed `seed`'s process: a resume where its run has started, a fresh run otherwise.
    func arguments(for seed: UInt64) -> [String] {
        let directory = RunGroup.runDirectory(folder, seed: seed)
        let started = FileManager.default.fileExists(atPath: directory + "/config.json")
        var arguments = started ? ["train", "--resume", directory] : ["train"] + withoutSteps(group.arguments) + ["--seed", "\(seed)", "--out", directory]
        // A new budget goes to every run; a fresh run otherwise gets the group's.
        if let budget = steps.map(String.init) ?? (started ? nil : groupSteps) { arguments += ["--steps", budget] }
        arguments += ["--threads", "1"]
        return arguments
    }

    /// `arguments` without a `--steps N` pair (the budget is added last, the group's or a new one).
    func withoutSteps(_ arguments: [String]) -> [String] {
        guard let index = arguments.firstIndex(of: "--steps") else { return arguments }
        return Array(arguments[..<index]) + Array(arguments[min(index + 2, arguments.count)...])
    }

    /// The `--steps` the group was made with, if any.
    var groupSteps: String? {
        guard let index = group.arguments.firstIndex(of: "--steps"), index + 1 < group.arguments.count else { return nil }
        return group.arguments[index + 1]
    }

    /// Whether seed `seed`'s run has trained its whole budget already.
    func isComplete(_ seed: UInt64) -> Bool {
        let directory = RunGroup.runDirectory(folder, seed: seed)
        guard let config = try? RunConfig.load(run: directory) else { return false }
        return RunProgress.read(directory).step >= (steps ?? config.totalTimesteps)
    }

    func run() throws {
        installInterruptHandler()
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var pending = group.seeds.filter { !isComplete($0) }
        let skipped = group.seeds.count - pending.count
        print("training \(group.seeds.count) seed\(group.seeds.count == 1 ? "" : "s") (\(seedList(group.seeds))) → \(folder), "
              + "\(min(jobs, max(pending.count, 1))) at a time, one thread each" + (skipped > 0 ? "; \(skipped) finished already" : ""))
        var running: [(seed: UInt64, process: Process)] = []
        var failures: [(seed: UInt64, status: Int32)] = []
        var interrupted = false
        let display = GroupDisplay(folder: folder, seeds: group.seeds)
        while true {
            if !interrupted && interruptRequested.load(ordering: .relaxed) {
                interrupted = true
                pending.removeAll()
                for (_, process) in running where process.isRunning { kill(process.processIdentifier, SIGINT) }
            }
            while running.count < jobs, !pending.isEmpty {
                let seed = pending.removeFirst()
                running.append((seed, try launch(executable, seed: seed)))
            }
            if running.isEmpty { break }
            usleep(200_000)
            running.removeAll { entry in
                guard !entry.process.isRunning else { return false }
                let status = entry.process.terminationStatus
                if status != 0 && status != 130 { failures.append((entry.seed, status)) }
                display.finished(entry.seed, status: status)
                return true
            }
            display.update(running: running.map(\.seed))
        }
        display.close()
        try summarize()
        if !failures.isEmpty {
            for failure in failures {
                print("seed \(failure.seed) failed (exit \(failure.status)); the end of its log, \(logPath(failure.seed)):")
                print(lastLines(of: logPath(failure.seed), count: 8).map { "  " + $0 }.joined(separator: "\n"))
            }
            throw ExitCode(1)
        }
        if interrupted {
            print("interrupted; each run saved a checkpoint. Continue the group with: dojo train --resume \(folder)")
            throw ExitCode(130)
        }
        print("""
            next:
              dojo compare \(folder)                  IQM and confidence intervals over the seeds, learning curves
              dojo watch \(RunGroup.runDirectory(folder, seed: group.seeds[0]))               watch one seed's best policy
            """)
    }

    func logPath(_ seed: UInt64) -> String { "\(folder)/seed\(seed).log" }

    /// Starts seed `seed`'s `dojo train`, its output appended to its log file.
    func launch(_ executable: String, seed: UInt64) throws -> Process {
        let path = logPath(seed)
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: path) else { throw TrainingError.cannotWrite(path, "cannot open the log") }
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments(for: seed)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw TrainingError.cannotWrite(path, "cannot start \(executable): \(error)") }
        return process
    }

    /// Prints each seed's final evaluation and their spread, and writes them to `<folder>/summary.md`.
    func summarize() throws {
        var rows: [String] = [], returns: [Double] = []
        for seed in group.seeds {
            let progress = RunProgress.read(RunGroup.runDirectory(folder, seed: seed))
            let value = progress.evaluationReturn.map { String(format: "%.3f", $0) } ?? "—"
            let success = progress.evaluationSuccess.map { String(format: "%.1f%%", 100 * $0) } ?? ""
            rows.append("| \(seed) | \(progress.step) | \(value) | \(success) |")
            if let value = progress.evaluationReturn { returns.append(value) }
        }
        var lines = ["| seed | steps | final evaluation return | success |", "|---|---|---|---|"] + rows
        if !returns.isEmpty {
            let mean = returns.reduce(0, +) / Double(returns.count)
            let std = (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(returns.count)).squareRoot()
            let sorted = returns.sorted(), middle = sorted.count / 2
            let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
            lines.append("")
            lines.append("final evaluation return over \(returns.count) seed\(returns.count == 1 ? "" : "s"): "
                         + String(format: "mean %.3f ± %.3f (std), median %.3f, min %.3f, max %.3f", mean, std, median, sorted[0],
                                  sorted[sorted.count - 1]))
        }
        let text = lines.joined(separator: "\n")
        print(text)
        let path = folder + "/summary.md"
        do { try ("# \(group.name)\n\n" + text + "\n").write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw TrainingError.cannotWrite(path, error.localizedDescription)
        }
    }
}

/// "0-4" for consecutive seeds, "0, 3, 7" otherwise.
func seedList(_ seeds: [UInt64]) -> String {
    if seeds.count > 2, let first = seeds.first, let last = seeds.last, seeds == Array(first...last) { return "\(first)-\(last)" }
    return seeds.map(String.init).joined(separator: ", ")
}

/// The last `count` lines of a text file (progress-bar carriage returns split lines too).
func lastLines(of path: String, count: Int) -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return Array(text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).suffix(count).map(String.init))
}

/// One line per seed, redrawn in place on a terminal (steps and last evaluation from each run's metrics.jsonl);
/// elsewhere a line when a seed finishes and a status line every 30 seconds.
final class GroupDisplay {
    let folder: String
    let seeds: [UInt64]
    let terminal = isatty(STDOUT_FILENO) == 1
    private var states: [UInt64: String] = [:]
    private var drawnLines = 0
    private var lastStatus = Date()

    init(folder: String, seeds: [UInt64]) {
        self.folder = folder
        self.seeds = seeds
        for seed in seeds { states[seed] = "waiting" }
    }

    func finished(_ seed: UInt64, status: Int32) {
        let progress = RunProgress.read(RunGroup.runDirectory(folder, seed: seed))
        states[seed] = status == 0 ? "done" : status == 130 ? "stopped at a checkpoint" : "failed (exit \(status)); see \(folder)/seed\(seed).log"
        if !terminal {
            print("seed \(seed): \(states[seed] ?? "") at step \(progress.step)"
                  + (progress.evaluationReturn.map { String(format: ", last evaluation %.3f", $0) } ?? ""))
        }
    }

    func update(running: [UInt64]) {
        for seed in running { states[seed] = "training" }
        if terminal {
            redraw()
        } else if Date().timeIntervalSince(lastStatus) >= 30 {
            lastStatus = Date()
            print(running.map { seed in "seed \(seed) at step \(RunProgress.read(RunGroup.runDirectory(folder, seed: seed)).step)" }
                .joined(separator: ", "))
        }
    }

    private func redraw() {
        var lines: [String] = []
        for seed in seeds {
            let progress = RunProgress.read(RunGroup.runDirectory(folder, seed: seed))
            let evaluation = progress.evaluationReturn.map { String(format: "  last evaluation %.3f", $0) } ?? ""
            let state = (states[seed] ?? "").padding(toLength: 12, withPad: " ", startingAt: 0)
            lines.append("  seed \(String(seed).padding(toLength: 4, withPad: " ", startingAt: 0)) \(state) step \(progress.step)\(evaluation)")
        }
        var output = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
        for line in lines { output += "\u{1B}[2K" + line + "\n" }
        FileHandle.standardOutput.write(Data(output.utf8))
        drawnLines = lines.count
    }

    func close() {
        if terminal { redraw() }
    }
}
