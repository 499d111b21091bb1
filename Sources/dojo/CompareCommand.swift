import ArgumentParser
import Foundation
import Training

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare runs or groups of seeds: final, best and AUC scores with bootstrap confidence intervals.",
        discussion: """
            Each argument is a run directory (a group of one) or a group folder from \
            `dojo train --seeds` (group.json, or subfolders holding metrics.jsonl). \
            Scores come from the evaluation rows of each run's metrics.jsonl: the final \
            evaluation, the best one, and the area under the evaluation curve divided by its \
            step span (in score units).

            Across a group's runs: mean, median and interquartile mean (IQM, the mean of the \
            middle 50%), each with a 95% stratified-bootstrap percentile interval (runs resampled \
            within each environment, as the rliable library does); between groups: the \
            probability that a run of one ends higher than a run of the other (ties count 1/2). \
            The same --seed gives the same intervals.

            With --out DIR: comparison.md, comparison.csv and comparison.png (IQM learning \
            curves with 95% bands; the performance profile of final scores).

            Examples:
              dojo compare runs/cartpole-ppo runs/cartpole-dqn
              dojo compare runs/ppo runs/a2c --labels PPO,A2C --out reports/ppo-vs-a2c
              dojo compare runs/highway-ppo --metric collision_rate --lower-is-better
            """)

    @Argument(help: ArgumentHelp("Run directories or group folders.", valueName: "run-or-group"))
    var paths: [String]
    @Option(help: ArgumentHelp("What to compare: return (eval_return_mean), success (eval_success_rate) or an evaluation figure (collision_rate, final_distance …).",
                               valueName: "metric"))
    var metric: String = "return"
    @Flag(help: "A smaller value is better (collision_rate, final_distance): each run's best evaluation is its least.")
    var lowerIsBetter = false
    @Option(help: ArgumentHelp("Folder for comparison.md, comparison.csv and comparison.png.", valueName: "dir"))
    var out: String?
    @Option(help: ArgumentHelp("Comma-separated names, one per argument (default: the folder names).", valueName: "names"))
    var labels: String?
    @Option(help: "Bootstrap resamples per interval.")
    var reps: Int = 2000
    @Option(help: "Bootstrap seed.")
    var seed: UInt64 = 0

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("name at least one run directory or group folder.") }
        guard (100...1_000_000).contains(reps) else { throw ValidationError("--reps must be between 100 and 1000000 (got \(reps)).") }
        if let labels {
            let names = labels.split(separator: ",", omittingEmptySubsequences: false)
            guard names.count == paths.count else {
                throw ValidationError("--labels has \(names.count) name(s) for \(paths.count) run(s) or group(s); give one per argument.")
            }
            guard names.allSatisfy({ !$0.trimmingCharacters(in: .whitespaces).isEmpty && $0.count <= 40 }) else {
                throw ValidationError("--labels: each name must be 1 to 40 characters.")
            }
        }
    }

    func run() throws {
        var metric = try ComparisonMetric(self.metric)
        metric.lowerIsBetter = lowerIsBetter
        var names = labels.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
            ?? paths.map { URL(fileURLWithPath: $0).standardizedFileURL.lastPathComponent }
        // Two folders with the same name (runs/a/seed0, runs/b/seed0) get numbered labels.
        for (index, name) in names.enumerated() where names.filter({ $0 == name }).count > 1 { names[index] = "\(name)-\(index + 1)" }
        let groups = try zip(paths, names).map { try Comparison.loadGroup($0, label: $1, metric: metric) }
        let report = Comparison.compare(groups, metric: metric, reps: reps, seed: seed)
        print(report.terminalTable(), terminator: "")
        if let out {
            let written = try report.write(to: out)
            print("\nwritten: " + written.joined(separator: ", "))
        }
    }
}
