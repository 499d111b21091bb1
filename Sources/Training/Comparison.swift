import Foundation
import Sim

/// Why runs cannot be compared: the message names the folder or file and what to do.
public struct ComparisonError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The evaluation figure compared: a key of `metrics.jsonl`'s evaluation rows.
public struct ComparisonMetric: Equatable, Sendable {
    /// The `metrics.jsonl` key, e.g. `eval_return_mean`.
    public let key: String
    /// Whether a smaller value is better (collision rates, distances): a run's best evaluation is then its least.
    public var lowerIsBetter = false

    /// `return` → `eval_return_mean`, `success` → `eval_success_rate`; any other name is an evaluation figure, with
    /// or without its `eval_` prefix (`collision_rate`, `eval_final_distance`).
    public init(_ name: String) throws {
        switch name {
        case "return": key = LogNames.evaluationReturnMean.key
        case "success": key = LogNames.evaluationSuccessRate.key
        default:
            let key = name.hasPrefix("eval_") ? name : "eval_" + name
            guard MetricsLog.isColumnName(key) else {
                throw ComparisonError("--metric \(quotedForMessage(name)) is not a metric name; use return, success or an evaluation figure such as collision_rate")
            }
            self.key = key
        }
    }
}

/// One run's evaluation curve and the scores read from it.
public struct ComparedRun: Sendable {
    /// The run folder's name (`seed0`).
    public let name: String
    public let path: String
    /// The environment id from `config.json` (`?` when it cannot be read): runs of different environments are
    /// different tasks, resampled separately.
    public let task: String
    /// Environment steps of the evaluations, increasing, and the metric at each.
    public let steps: [Double]
    public let values: [Double]
    /// Lines of `metrics.jsonl` that were not JSON objects (skipped).
    public let corruptLines: Int

    /// The last evaluation's score.
    public var final: Double { values[values.count - 1] }
    /// Whether a smaller value is better (the metric's direction).
    public let lowerIsBetter: Bool

    /// The best evaluation's score: the largest, or the least when lower is better.
    public var best: Double { lowerIsBetter ? values.min()! : values.max()! }
    /// The area under the evaluation curve over its step span (trapezoids), in score units.
    public var area: Double { Statistics.normalizedArea(steps: steps, values: values) }
    public var lastStep: Double { steps[steps.count - 1] }
}

/// A group of runs (the seeds of one configuration, or a single run), as a matrix of runs × tasks.
public struct ComparedGroup: Sendable {
    public let label: String
    public let path: String
    public let runs: [ComparedRun]
    /// Task names in column order (sorted).
    public let tasks: [String]
    /// Problems that do not stop the comparison (runs left out, unequal lengths, skipped lines).
    public let warnings: [String]

    /// `score` of each run as a runs × tasks matrix (runs of each task in folder order).
    public func matrix(_ score: (ComparedRun) -> Double) -> [[Double]] {
        let columns = tasks.map { task in runs.filter { $0.task == task }.map(score) }
        return (0..<columns[0].count).map { row in columns.map { $0[row] } }
    }
}

/// The per-run score an aggregate is taken over.
public enum RunScore: String, CaseIterable, Sendable {
    case final, best, area = "auc"

    public func of(_ run: ComparedRun) -> Double {
        switch self {
        case .final: return run.final
        case .best: return run.best
        case .area: return run.area
        }
    }
}

/// Aggregates of one group's runs for one score, each with its bootstrap interval.
public struct GroupAggregate: Sendable {
    public let mean: Statistics.Interval
    public let median: Statistics.Interval
    public let interquartileMean: Statistics.Interval
}

/// A group's learning curve: the IQM across runs at each evaluation step, with a 95% bootstrap band.
public struct AggregateCurve: Sendable {
    public let steps: [Double]
    public let iqm: [Double]
    public let low: [Double]
    public let high: [Double]
}

/// Everything `dojo compare` reports.
public struct ComparisonReport: Sendable {
    public let metric: ComparisonMetric
    public let reps: Int
    public let seed: UInt64
    public let groups: [ComparedGroup]
    /// `aggregates[g][score]` for every group and per-run score.
    public let aggregates: [[RunScore: GroupAggregate]]
    /// P(group i's final score > group j's) for i ≠ j; nil when the two groups' tasks differ.
    public let improvement: [[Statistics.Interval?]]
    public let curves: [AggregateCurve]
    /// Comparison-wide warnings (groups trained for different lengths).
    public let warnings: [String]
}

/// Loads run folders and groups of them and compares their evaluation scores (`dojo compare`).
public enum Comparison {
    /// Largest `metrics.jsonl` read (256 MiB), so a wrong path cannot exhaust memory.
    static let maximumLogBytes = 256 << 20

    /// Reads `path` as a group: a run directory (holding `metrics.jsonl`) is a group of one; a folder with
    /// `group.json` (from `dojo train --seeds`) holds one run per seed it names; otherwise its subfolders holding
    /// `metrics.jsonl` are the runs.
    public static func loadGroup(_ path: String, label: String, metric: ComparisonMetric) throws -> ComparedGroup {
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ComparisonError("\(quotedForMessage(path)) does not exist; pass run directories or group folders from `dojo train`")
        }
        guard isFolder.boolValue else { throw ComparisonError("\(quotedForMessage(path)) is a file; pass a run directory or a group folder") }
        let folder = URL(fileURLWithPath: path)
        var runPaths: [String]
        if manager.fileExists(atPath: folder.appendingPathComponent("metrics.jsonl").path) {
            runPaths = [path]
        } else if manager.fileExists(atPath: folder.appendingPathComponent("group.json").path) {
            runPaths = try groupRuns(folder)
        } else {
            let children = (try? manager.contentsOfDirectory(atPath: path)) ?? []
            runPaths = children.filter { !$0.hasPrefix(".") && manager.fileExists(atPath: folder.appendingPathComponent($0).appendingPathComponent("metrics.jsonl").path) }
                .sorted { $0.localizedStandardCompare($1) == .orderedAscending }
                .map { folder.appendingPathComponent($0).path }
        }
        guard !runPaths.isEmpty else {
            throw ComparisonError("\(quotedForMessage(path)) holds no runs: no metrics.jsonl, no group.json and no subfolder with a metrics.jsonl; pass a folder `dojo train` wrote")
        }
        var runs: [ComparedRun] = [], warnings: [String] = [], otherKeys = Set<String>()
        for runPath in runPaths {
            let (run, keys) = try readRun(runPath, metric: metric)
            if run.corruptLines > 0 {
                warnings.append("\(run.name): \(run.corruptLines) line(s) of metrics.jsonl are not JSON objects and were skipped")
            }
            if run.steps.isEmpty {
                otherKeys.formUnion(keys)
                warnings.append(keys.isEmpty ? "\(run.name) has no evaluations yet; left out"
                                             : "\(run.name) logs no \(metric.key); left out")
                continue
            }
            runs.append(run)
        }
        guard !runs.isEmpty else {
            let logged = otherKeys.sorted()
            let hint = logged.isEmpty ? "no run has evaluated yet (evaluations are logged every eval_freq steps)"
                                      : "its runs log \(logged.joined(separator: ", ")); choose one with --metric"
            throw ComparisonError("\(quotedForMessage(path)): no run has \(metric.key) to compare; \(hint)")
        }
        let tasks = Array(Set(runs.map(\.task))).sorted()
        let counts = tasks.map { task in runs.filter { $0.task == task }.count }
        guard Set(counts).count == 1 else {
            let detail = zip(tasks, counts).map { "\($1) of \($0)" }.joined(separator: ", ")
            throw ComparisonError("\(quotedForMessage(path)) mixes environments with unequal numbers of runs (\(detail)); the stratified bootstrap needs as many runs of each; compare them as separate groups")
        }
        let lastSteps = runs.map(\.lastStep)
        if let shortest = lastSteps.min(), let longest = lastSteps.max(), longest > shortest * 1.01 {
            warnings.append("runs end at different steps (\(LearningCurve.compact(shortest))–\(LearningCurve.compact(longest))): their final scores come from different training lengths")
        }
        return ComparedGroup(label: label, path: path, runs: runs, tasks: tasks, warnings: warnings)
    }

    /// The run folders of the seeds `group.json` names (`seed<S>` inside the group folder), each checked to hold
    /// `metrics.jsonl`.
    static func groupRuns(_ folder: URL) throws -> [String] {
        let group: RunGroup?
        do { group = try RunGroup.read(from: folder.path) } catch { throw ComparisonError("\(error)") }
        guard let group else { throw ComparisonError("\(quotedForMessage(folder.path)) has no group.json") }
        return try group.seeds.map { seed in
            let run = RunGroup.runDirectory(folder.path, seed: seed)
            guard FileManager.default.fileExists(atPath: run + "/metrics.jsonl") else {
                throw ComparisonError("\(quotedForMessage(folder.path)) names seed \(seed), but \(quotedForMessage(run)) has no metrics.jsonl yet; "
                                      + "finish the group with dojo train --resume \(folder.path)")
            }
            return run
        }
    }

    /// Reads a run's evaluation curve for `metric` from `metrics.jsonl` (rows with a `step` and a finite value of the
    /// metric; a later row at the same step replaces an earlier one) and its task from `config.json`. Also returns
    /// the evaluation keys the run logs, for messages when the metric is absent.
    static func readRun(_ path: String, metric: ComparisonMetric) throws -> (ComparedRun, Set<String>) {
        let file = URL(fileURLWithPath: path).appendingPathComponent("metrics.jsonl").path
        let name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        guard let handle = FileHandle(forReadingAtPath: file) else { throw ComparisonError("\(quotedForMessage(file)) cannot be read") }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maximumLogBytes + 1)) ?? Data()
        guard data.count <= maximumLogBytes else {
            throw ComparisonError("\(quotedForMessage(file)) is larger than \(maximumLogBytes >> 20) MiB; is it a metrics log?")
        }
        var byStep: [Double: Double] = [:], corrupt = 0, evaluationKeys = Set<String>()
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
            guard let object = MetricsLog.parse(Data(line)) else { corrupt += 1; continue }
            evaluationKeys.formUnion(object.keys.filter { $0.hasPrefix("eval_") && $0 != LogNames.evaluationEpisodes.key })
            guard let step = number(object[LogNames.step.key]), step >= 0, let value = number(object[metric.key]) else { continue }
            byStep[step] = value
        }
        let steps = byStep.keys.sorted()
        let run = ComparedRun(name: name, path: path, task: task(of: path), steps: steps, values: steps.map { byStep[$0]! },
                              corruptLines: corrupt, lowerIsBetter: metric.lowerIsBetter)
        return (run, evaluationKeys)
    }

    /// A finite JSON number (not a Boolean) as a Double.
    static func number(_ value: Any?) -> Double? {
        // JSON true/false arrive as NSNumbers of type "c" (Bool); they are not scores.
        guard let number = value as? NSNumber, number.objCType.pointee != CChar(UInt8(ascii: "c")) else { return nil }
        let double = number.doubleValue
        return double.isFinite ? double : nil
    }

    /// The environment id in the run's `config.json`, or `?`.
    static func task(of path: String) -> String {
        let file = URL(fileURLWithPath: path).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: file), data.count <= 1 << 20,
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let env = object["env"] as? String, !env.isEmpty else { return "?" }
        return env
    }

    /// Compares groups: per-run scores, their aggregates with stratified-bootstrap intervals (`reps` resamples,
    /// deterministic given `seed`), P(X > Y) of final scores between every pair, and each group's IQM curve.
    public static func compare(_ groups: [ComparedGroup], metric: ComparisonMetric, reps: Int, seed: UInt64) -> ComparisonReport {
        let aggregates = groups.enumerated().map { index, group in
            let groupSeed = derivedSeed(seed, index)
            return Dictionary(uniqueKeysWithValues: RunScore.allCases.map { score in
                let scores = group.matrix(score.of)
                return (score, GroupAggregate(
                    mean: Statistics.interval(scores, reps: reps, seed: groupSeed, Statistics.mean),
                    median: Statistics.interval(scores, reps: reps, seed: groupSeed, Statistics.medianOfRuns),
                    interquartileMean: Statistics.interval(scores, reps: reps, seed: groupSeed, Statistics.interquartileMean)))
            })
        }
        let improvement = groups.indices.map { i in
            groups.indices.map { j -> Statistics.Interval? in
                guard i != j, groups[i].tasks == groups[j].tasks else { return nil }
                return Statistics.improvementInterval(groups[i].matrix(RunScore.final.of), groups[j].matrix(RunScore.final.of),
                                                      reps: reps, seed: derivedSeed(seed, 1000 + i * groups.count + j))
            }
        }
        var warnings: [String] = []
        let ends = groups.map { $0.runs.map(\.lastStep).max()! }
        if let shortest = ends.min(), let longest = ends.max(), longest > shortest * 1.01 {
            warnings.append("groups end at different steps (\(zip(groups, ends).map { "\($0.label) \(LearningCurve.compact($1))" }.joined(separator: ", "))): final scores and AUCs compare different training lengths")
        }
        let distinctTasks = Set(groups.map(\.tasks))
        if distinctTasks.count > 1 {
            warnings.append("groups ran on different environments (\(groups.map { "\($0.label): \($0.tasks.joined(separator: "+"))" }.joined(separator: ", "))); P(X > Y) is left out between them")
        }
        let curves = groups.enumerated().map { index, group in curve(group, reps: reps, seed: derivedSeed(seed, 5000 + index)) }
        return ComparisonReport(metric: metric, reps: reps, seed: seed, groups: groups, aggregates: aggregates,
                                improvement: improvement, curves: curves, warnings: warnings)
    }

    /// Largest number of points of an aggregate curve (evaluation steps are thinned evenly beyond it).
    static let maximumCurvePoints = 200

    /// The IQM across runs at each evaluation step of any run (thinned to ``maximumCurvePoints``): each run
    /// contributes where the step lies within its evaluations, linearly interpolated between them. The band is the
    /// percentile interval of the IQM over resamples of the runs present at that step (none with one run).
    static func curve(_ group: ComparedGroup, reps: Int, seed: UInt64) -> AggregateCurve {
        var grid = Array(Set(group.runs.flatMap(\.steps))).sorted()
        if grid.count > maximumCurvePoints {
            grid = (0..<maximumCurvePoints).map { grid[$0 * (grid.count - 1) / (maximumCurvePoints - 1)] }
        }
        var iqm: [Double] = [], low: [Double] = [], high: [Double] = []
        for (index, step) in grid.enumerated() {
            let values = group.runs.compactMap { interpolate($0, at: step) }.map { [$0] }
            let interval = values.count > 1
                ? Statistics.interval(values, reps: reps, seed: derivedSeed(seed, index), Statistics.interquartileMean)
                : Statistics.Interval(estimate: values[0][0], low: values[0][0], high: values[0][0])
            iqm.append(interval.estimate); low.append(interval.low); high.append(interval.high)
        }
        return AggregateCurve(steps: grid, iqm: iqm, low: low, high: high)
    }

    /// The run's score at `step` by linear interpolation, nil outside its evaluated steps.
    static func interpolate(_ run: ComparedRun, at step: Double) -> Double? {
        guard let first = run.steps.first, step >= first, step <= run.lastStep else { return nil }
        let upper = run.steps.firstIndex { $0 >= step }!
        if run.steps[upper] == step || upper == 0 { return run.values[upper] }
        let a = run.steps[upper - 1], b = run.steps[upper]
        return run.values[upper - 1] + (run.values[upper] - run.values[upper - 1]) * (step - a) / (b - a)
    }

    /// A seed for the `index`-th bootstrap of a comparison (SplitMix64 of the two), so that intervals are
    /// independent of each other yet fixed by `--seed`.
    static func derivedSeed(_ seed: UInt64, _ index: Int) -> UInt64 {
        var mixer = SplitMix64(state: seed ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15))
        return mixer.next()
    }
}
