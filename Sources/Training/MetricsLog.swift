import Foundation

/// Training metrics in three forms: `metrics.csv` (one row per log interval), `metrics.jsonl` (the same rows and the
/// evaluations, one JSON object a line) and TensorBoard event files under `tensorboard/`.
public final class MetricsLog {
    public struct Row {
        public var step: Int
        public var episodes: Int
        public var returnMean: Double?
        public var lengthMean: Double?
        public var loss: Double?
        /// DQN's exploration rate (nil for actor-critic agents).
        public var epsilon: Double?
        public var stepsPerSecond: Double
        /// Further training scalars by name (e.g. PPO's `entropy`, `approx_kl`): JSON lines and TensorBoard `train/…`.
        public var extra: [(name: String, value: Double)] = []
    }

    static let header = "step,episodes,return_mean_100,length_mean_100,loss,epsilon,steps_per_second"
    private let csv: FileHandle
    private let jsonl: FileHandle
    private let csvPath: String, jsonlPath: String
    private let tensorboard: TensorBoardWriter

    /// Opens the logs in `directory`; when resuming at `resumeStep`, rows logged after it (work lost with the
    /// interrupted process) are dropped so the logs match an uninterrupted run.
    public init(directory: String, resume: Bool, resumeStep: Int = .max) throws {
        let csvPath = directory + "/metrics.csv", jsonlPath = directory + "/metrics.jsonl"
        self.csvPath = csvPath
        self.jsonlPath = jsonlPath
        let manager = FileManager.default
        if !resume || !manager.fileExists(atPath: csvPath) {
            try Data((Self.header + "\n").utf8).write(to: URL(fileURLWithPath: csvPath), options: .atomic)
            try Data().write(to: URL(fileURLWithPath: jsonlPath), options: .atomic)
        } else {
            try Self.dropRows(after: resumeStep, in: csvPath, step: { Int($0.split(separator: ",").first ?? "") })
            try Self.dropRows(after: resumeStep, in: jsonlPath, step: { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["step"] as? Int
            })
        }
        csv = try FileHandle(forWritingTo: URL(fileURLWithPath: csvPath))
        try csv.seekToEnd()
        jsonl = try FileHandle(forWritingTo: URL(fileURLWithPath: jsonlPath))
        try jsonl.seekToEnd()
        try manager.createDirectory(atPath: directory + "/tensorboard", withIntermediateDirectories: true)
        tensorboard = try TensorBoardWriter(directory: directory + "/tensorboard")
    }

    private static func dropRows(after step: Int, in path: String, step parse: (String) -> Int?) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let kept = text.split(separator: "\n").filter { line in parse(String(line)).map { $0 <= step } ?? true }
        try Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    deinit { try? csv.close(); try? jsonl.close() }

    private func field(_ value: Double?) -> String { value.map { String($0) } ?? "" }

    /// Appends a metrics row to the three logs; a failed write (a full disk) is an error naming the file.
    public func write(_ row: Row) throws {
        let line = "\(row.step),\(row.episodes),\(field(row.returnMean)),\(field(row.lengthMean)),\(field(row.loss)),"
            + "\(field(row.epsilon)),\(String(format: "%.1f", row.stepsPerSecond))\n"
        try append(Data(line.utf8), to: csv, path: csvPath)
        var object: [String: Any] = ["step": row.step, "episodes": row.episodes, "steps_per_second": row.stepsPerSecond]
        if let v = row.epsilon { object["epsilon"] = v }
        for (name, value) in row.extra { object[name] = value }
        if let v = row.returnMean { object["return_mean_100"] = v }
        if let v = row.lengthMean { object["length_mean_100"] = v }
        if let v = row.loss { object["loss"] = v }
        try writeJSON(object)
        var scalars: [(String, Double)] = [("time/steps_per_second", row.stepsPerSecond)]
        if let v = row.epsilon { scalars.append(("train/epsilon", v)) }
        scalars += row.extra.map { ("train/" + $0.name, $0.value) }
        if let v = row.returnMean { scalars.append(("rollout/episode_return", v)) }
        if let v = row.lengthMean { scalars.append(("rollout/episode_length", v)) }
        if let v = row.loss { scalars.append(("train/loss", v)) }
        try tensorboard.scalars(scalars, step: row.step)
    }

    /// Logs an evaluation; `elapsed` (wall-clock seconds since this session of the run started) goes to the JSON lines
    /// only.
    public func writeEvaluation(step: Int, _ result: EvaluationResult, elapsed: Double) throws {
        var object: [String: Any] = ["step": step, "wall_time_s": elapsed, "eval_return_mean": result.meanReturn, "eval_return_std": result.stdReturn,
                                     "eval_length_mean": result.meanLength, "eval_episodes": result.returns.count]
        var scalars: [(String, Double)] = [("eval/mean_return", result.meanReturn), ("eval/mean_length", result.meanLength)]
        if let rate = result.successRate {
            object["eval_success_rate"] = rate
            scalars.append(("eval/success_rate", rate))
        }
        if let optimal = result.meanOptimalReturn { object["eval_optimal_return_mean"] = optimal }
        for (name, value) in [("collision_rate", result.collisionRate), ("mean_speed", result.meanSpeed),
                              ("final_distance", result.meanFinalDistance)] {
            guard let value else { continue }
            object["eval_" + name] = value
            scalars.append(("eval/" + name, value))
        }
        try writeJSON(object)
        try tensorboard.scalars(scalars, step: step)
    }

    private func writeJSON(_ object: [String: Any]) throws {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        try append(data + Data("\n".utf8), to: jsonl, path: jsonlPath)
    }

    private func append(_ data: Data, to handle: FileHandle, path: String) throws {
        do { try handle.write(contentsOf: data) } catch {
            throw TrainingError.cannotWrite(path, error.localizedDescription)
        }
    }

    public func flush() {
        try? csv.synchronize()
        try? jsonl.synchronize()
        tensorboard.flush()
    }
}
