import Foundation
import Testing
import TestSupport

/// `dojo train --seeds`: one run per seed, each the run `--seed` trains alone; a group resumes; bad seed lists and
/// clashing flags are refused before anything starts.
@Suite(.serialized) struct SeedGroupTests {
    static let settings = ["train", "gridworld", "-o", "map=empty", "-o", "view=5", "-o", "max_steps=20", "--steps", "500",
                           "--set", "learning_starts=100", "--set", "batch_size=8"]

    /// The bytes of a run's files that do not depend on timing: the last checkpoint's model and the metrics without
    /// wall-clock columns.
    static func fingerprint(_ run: String) throws -> (model: Data, metrics: [String]) {
        let model = try Data(contentsOf: URL(fileURLWithPath: run + "/checkpoints/last/model.safetensors"))
        let rows = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line -> String in
            var row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            for key in ["wall_time_s", "steps_per_second"] { row.removeValue(forKey: key) }
            return String(decoding: try JSONSerialization.data(withJSONObject: row, options: .sortedKeys), as: UTF8.self)
        }
        return (model, rows)
    }

    @Test("--seeds trains each seed exactly as --seed alone does, into a group that names them")
    func groupRunsEqualSingleRuns() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("seeds-\(UUID().uuidString)").path
        let grouped = try dojo(Self.settings + ["--seeds", "0,3", "--jobs", "2", "--out", base + "/group"])
        #expect(grouped.status == 0, "\(grouped.output)")
        #expect(grouped.output.contains("final evaluation return over 2 seeds") && grouped.output.contains("dojo compare \(base)/group"))
        let group = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base + "/group/group.json"))) as? [String: Any]
        #expect(group?["seeds"] as? [Int] == [0, 3] && group?["format"] as? String == "dojo-run-group")
        #expect(FileManager.default.fileExists(atPath: base + "/group/summary.md"))
        for seed in [0, 3] {
            let alone = try dojo(Self.settings + ["--seed", "\(seed)", "--out", base + "/alone\(seed)"])
            #expect(alone.status == 0, "\(alone.output)")
            let (groupModel, groupMetrics) = try Self.fingerprint(base + "/group/seed\(seed)")
            let (aloneModel, aloneMetrics) = try Self.fingerprint(base + "/alone\(seed)")
            #expect(groupModel == aloneModel && groupMetrics == aloneMetrics, "seed \(seed)")
        }
        // A finished group resumes to nothing new; an existing folder is never trained into.
        let resumed = try dojo(["train", "--resume", base + "/group"])
        #expect(resumed.status == 0 && resumed.output.contains("2 finished already"), "\(resumed.output)")
        let clash = try dojo(Self.settings + ["--seeds", "0-1", "--out", base + "/group"])
        #expect(clash.status != 0 && clash.output.contains("never mixes runs"), "\(clash.output)")
    }

    @Test("Bad seed lists and clashing flags are refused with a message")
    func badInput() throws {
        for (arguments, message) in [(["--seeds", "4-2"], "is not a seed or a range"), (["--seeds", "0,x"], "is not a seed"),
                                     (["--seeds", "0,0"], "names a seed twice"), (["--seeds", "0-5000"], "more than 1,000 seeds"),
                                     (["--seeds", "0-1", "--seed", "3"], "exclude each other"), (["--jobs", "2"], "--jobs goes with --seeds"),
                                     (["--seeds", "0-1", "--jobs", "0"], "--jobs must be in 1...64")] {
            let result = try dojo(["train", "cartpole"] + arguments)
            #expect(result.status != 0 && result.output.contains(message), "\(arguments): \(result.output)")
        }
    }
}
