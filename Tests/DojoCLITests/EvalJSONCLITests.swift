import Foundation
import Testing

/// `dojo eval --json`: one JSON record on stdout and nothing else, for scripts.
@Suite struct EvalJSONCLITests {
    /// Runs `dojo` with stderr in a file; returns the status, stdout alone and stderr.
    func dojoSeparatingErrors(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let errorsPath = scratchFolder("stderr")
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
        let result = try runDojo(arguments, errors: errors)
        try errors.close()
        return (result.status, result.output, try String(contentsOfFile: errorsPath, encoding: .utf8))
    }

    @Test("eval --json prints one parseable record (returns, lengths, success, the environment's figures, what was evaluated) and nothing else on stdout")
    func evalJSON() throws {
        let run = scratchFolder("eval-json"), replay = scratchFolder("best") + ".replay"
        let trained = try dojo(["train", "gridworld", "--option", "map=empty", "--steps", "600", "--set", "learning_starts=100",
                                "--set", "batch_size=16", "--out", run])
        #expect(trained.status == 0, "\(trained.output)")

        let result = try dojoSeparatingErrors(["eval", run, "--json", "--episodes", "3", "--seed", "7", "--record", replay])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1 && result.stdout.hasSuffix("\n"), "stdout: \(result.stdout)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(record["run"] as? String == run && record["checkpoint"] as? String == "best")
        #expect(record["env"] as? String == "gridworld" && record["agent"] as? String == "dqn")
        #expect((record["env_options"] as? [String: String])?["map"] == "empty")
        #expect(record["seed"] as? Int == 7 && record["episodes"] as? Int == 3)
        let rewards = try #require(record["episode_rewards"] as? [Double])
        let lengths = try #require(record["episode_lengths"] as? [Int])
        #expect(rewards.count == 3 && lengths.count == 3)
        let mean = rewards.reduce(0, +) / 3
        #expect(abs((record["mean_reward"] as? Double ?? .nan) - mean) < 1e-12)
        let std = (rewards.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()
        #expect(abs((record["std_reward"] as? Double ?? .nan) - std) < 1e-12)
        #expect(record["min_reward"] as? Double == rewards.min() && record["max_reward"] as? Double == rewards.max())
        #expect(record["mean_ep_length"] as? Double == Double(lengths.reduce(0, +)) / 3)
        #expect(record["min_ep_length"] as? Int == lengths.min() && record["max_ep_length"] as? Int == lengths.max())
        #expect(record["std_ep_length"] is Double)
        let success = try #require(record["success_rate"] as? Double, "gridworld reports success")
        #expect((0...1).contains(success))
        #expect(record["optimal_return_mean"] is Double, "gridworld's own figure")
        #expect(result.stderr.contains("best episode written to \(replay)"))
        #expect(FileManager.default.fileExists(atPath: replay))

        // The same evaluation, as a person reads it.
        let summary = try dojo(["eval", run, "--episodes", "3", "--seed", "7"])
        #expect(summary.output.contains(String(format: "return: mean %.4f", mean)), "\(summary.output)")
    }

    @Test("eval --json on a folder that is no run: nothing on stdout, the error on stderr")
    func evalJSONError() throws {
        let result = try dojoSeparatingErrors(["eval", "/tmp", "--json"])
        #expect(result.status != 0 && result.stdout.isEmpty, "stdout: \(result.stdout)")
        #expect(!result.stderr.isEmpty)
    }
}
