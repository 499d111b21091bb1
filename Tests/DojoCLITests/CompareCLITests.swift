import Foundation
import Testing

/// `dojo compare` on small synthetic groups whose metrics.jsonl files the test writes itself.
@Suite(.serialized) struct CompareCLITests {
    /// Writes a run directory: `evaluations` evaluation rows (every 1,000 steps, score `level · k / evaluations +
    /// offset`) between training rows, plus `extra` raw lines, and a config.json naming `environment`.
    static func writeRun(_ path: String, level: Double, offset: Double, evaluations: Int = 6, environment: String = "cartpole",
                         extra: [String] = []) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var lines: [String] = []
        for k in 1...max(evaluations, 1) {
            lines.append("{\"episodes\":\(k),\"return_mean_100\":1.5,\"step\":\(k * 1000 - 500)}")
            if evaluations > 0 {
                let score = level * Double(k) / Double(evaluations) + offset
                lines.append("{\"eval_episodes\":10,\"eval_return_mean\":\(score),\"eval_return_std\":1.0,\"eval_success_rate\":\(min(1, score / 100)),\"step\":\(k * 1000),\"wall_time_s\":\(k)}")
            }
        }
        try (lines + extra).joined(separator: "\n").appending("\n").write(toFile: path + "/metrics.jsonl", atomically: true, encoding: .utf8)
        try "{\"env\":\"\(environment)\",\"seed\":0}".write(toFile: path + "/config.json", atomically: true, encoding: .utf8)
    }

    static func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dojo-compare-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("Two groups: the table on the terminal, comparison.md/.csv/.png written, the same output for the same seed")
    func twoGroups() throws {
        let root = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Group "good" is recognised by group.json; group "weak" by its subfolders.
        for seed in 0..<4 { try Self.writeRun("\(root)/good/seed\(seed)", level: 90, offset: Double(seed)) }
        try "{\"format\":\"dojo-run-group\",\"version\":1,\"name\":\"good\",\"seeds\":[0,1,2,3],\"arguments\":[]}"
            .write(toFile: "\(root)/good/group.json", atomically: true, encoding: .utf8)
        for seed in 0..<3 { try Self.writeRun("\(root)/weak/seed\(seed)", level: 40, offset: Double(seed)) }
        let out = root + "/report"
        let result = try dojo(["compare", root + "/good", root + "/weak", "--labels", "GOOD,WEAK", "--reps", "500", "--out", out])
        #expect(result.status == 0, "\(result.output)")
        let output = result.output
        #expect(output.contains("group") && output.contains("IQM [95% CI]") && output.contains("P(row > column)"))
        #expect(output.contains("GOOD   4     final") || output.contains("GOOD  4"), "\(output)")
        // Final scores: 90..93 against 40..42, so every GOOD run beats every WEAK run in every resample.
        #expect(output.contains("1.00 [1.00, 1.00]") && output.contains("0.00 [0.00, 0.00]"), "\(output)")
        // Final IQM of GOOD (90, 91, 92, 93: the middle two) is 91.5.
        #expect(output.contains("91.50 ["), "\(output)")
        for file in ["comparison.md", "comparison.csv", "comparison.png"] {
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(file)"), "\(file)")
        }
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/comparison.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let csv = try String(contentsOfFile: out + "/comparison.csv", encoding: .utf8)
        #expect(csv.hasPrefix("section,group,run,versus,score,statistic,estimate,ci_low,ci_high,metric\n"))
        #expect(csv.contains("aggregate,GOOD,,,final,iqm,91.5,") && csv.contains("improvement,GOOD,,WEAK,final,probability_of_improvement,1.0,1.0,1.0"))
        let markdown = try String(contentsOfFile: out + "/comparison.md", encoding: .utf8)
        #expect(markdown.contains("| GOOD | 4 | final |") && markdown.contains("comparison.png"))
        let again = try dojo(["compare", root + "/good", root + "/weak", "--labels", "GOOD,WEAK", "--reps", "500"])
        #expect(again.output == output.components(separatedBy: "\nwritten:")[0], "the same seed must print the same table")
        let success = try dojo(["compare", root + "/good", "--metric", "success", "--reps", "200"])
        #expect(success.status == 0 && success.output.contains("eval_success_rate"))
    }

    @Test("Hostile input: empty folders, corrupt lines, runs without evaluations, unequal lengths, unknown metrics")
    func hostile() throws {
        let root = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/empty/notes", withIntermediateDirectories: true)
        let empty = try dojo(["compare", root + "/empty"])
        #expect(empty.status != 0 && empty.output.contains("holds no runs"), "\(empty.output)")
        let missing = try dojo(["compare", root + "/nowhere"])
        #expect(missing.status != 0 && missing.output.contains("does not exist"), "\(missing.output)")

        // Corrupt lines are skipped with a warning; a run without evaluations is left out with one.
        try Self.writeRun(root + "/mixed/seed0", level: 50, offset: 0, extra: ["{not json", "[1,2]", "{\"step\":true,\"eval_return_mean\":5}", "{\"step\":100,\"eval_return_mean\":\"high\"}", ""])
        try Self.writeRun(root + "/mixed/seed1", level: 50, offset: 1, evaluations: 3)  // shorter: ends at 3K
        try Self.writeRun(root + "/mixed/seed2", level: 0, offset: 0, evaluations: 0)
        let mixed = try dojo(["compare", root + "/mixed", "--reps", "200"])
        #expect(mixed.status == 0, "\(mixed.output)")
        #expect(mixed.output.contains("seed0: 2 line(s) of metrics.jsonl are not JSON objects"), "\(mixed.output)")
        #expect(mixed.output.contains("seed2 has no evaluations yet; left out"), "\(mixed.output)")
        #expect(mixed.output.contains("runs end at different steps"), "\(mixed.output)")

        // No run has evaluated: an error, not an empty table.
        try Self.writeRun(root + "/fresh/seed0", level: 0, offset: 0, evaluations: 0)
        let fresh = try dojo(["compare", root + "/fresh"])
        #expect(fresh.status != 0 && fresh.output.contains("no run has evaluated yet"), "\(fresh.output)")
        // A metric the runs do not log: the error lists those they do.
        let unknown = try dojo(["compare", root + "/mixed", "--metric", "collision_rate"])
        #expect(unknown.status != 0 && unknown.output.contains("eval_return_mean") && unknown.output.contains("--metric"), "\(unknown.output)")
        // A broken group.json, labels that do not match, too few resamples.
        try FileManager.default.createDirectory(atPath: root + "/broken", withIntermediateDirectories: true)
        try "{\"runs\": [\"../mixed/seed0\"]}".write(toFile: root + "/broken/group.json", atomically: true, encoding: .utf8)
        let broken = try dojo(["compare", root + "/broken"])
        #expect(broken.status != 0 && broken.output.contains("is not a valid group file"), "\(broken.output)")
        // A group whose seed 5 never started: named, with the way to finish it.
        try Self.writeRun(root + "/part/seed0", level: 50, offset: 0)
        try "{\"format\":\"dojo-run-group\",\"version\":1,\"name\":\"part\",\"seeds\":[0,5],\"arguments\":[]}"
            .write(toFile: root + "/part/group.json", atomically: true, encoding: .utf8)
        let partial = try dojo(["compare", root + "/part"])
        #expect(partial.status != 0 && partial.output.contains("names seed 5") && partial.output.contains("--resume"), "\(partial.output)")
        let lower = try dojo(["compare", root + "/part/seed0", "--lower-is-better", "--reps", "200"])
        #expect(lower.status == 0 && lower.output.contains("best = least (lower is better)"), "\(lower.output)")
        let labels = try dojo(["compare", root + "/mixed", "--labels", "a,b"])
        #expect(labels.status != 0 && labels.output.contains("--labels has 2 name(s) for 1"), "\(labels.output)")
        // Extreme but finite scores: no trap in the statistics or the drawing.
        try Self.writeRun(root + "/extreme/seed0", level: 0, offset: 0, evaluations: 0,
                          extra: ["{\"step\":1000,\"eval_return_mean\":1e308}", "{\"step\":2000,\"eval_return_mean\":-1e308}"])
        try Self.writeRun(root + "/extreme/seed1", level: 0, offset: 0, evaluations: 0,
                          extra: ["{\"step\":1000,\"eval_return_mean\":-1e308}", "{\"step\":2000,\"eval_return_mean\":1e308}"])
        let extreme = try runDojo(["compare", root + "/extreme", "--reps", "200", "--out", root + "/extreme-report"])
        #expect(extreme.status == 0 && !extreme.signalled, "\(extreme.output)")
        // Groups of different lengths: compared, with a warning.
        try Self.writeRun(root + "/long/seed0", level: 50, offset: 0, evaluations: 12)
        let lengths = try dojo(["compare", root + "/mixed", root + "/long", "--reps", "200"])
        #expect(lengths.status == 0 && lengths.output.contains("groups end at different steps"), "\(lengths.output)")
    }
}
