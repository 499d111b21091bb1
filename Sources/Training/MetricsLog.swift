import Foundation

/// Training metrics in three forms: `metrics.jsonl` (one JSON object a line: a row per log interval and one per
/// evaluation), `metrics.csv` (the same lines as a table, columns fixed by the algorithm's ``MetricsSchema``) and
/// TensorBoard event files under `tensorboard/` (tags from ``LogNames``, SB3's names).
///
/// `metrics.csv` is a projection of `metrics.jsonl`: every row is read back from the JSON line just written, and the
/// whole table is rebuilt from the JSON lines when a run resumes or a row brings a key the header lacks (an
/// environment's own evaluation figure, at the first evaluation). So both files always hold the same values, and a
/// resumed run's header is written once, with the same columns as an uninterrupted run's.
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
        /// Further training scalars under their ``LogNames`` keys (e.g. PPO's `entropy`, `approx_kl`); the schema
        /// decides which are logged (A2C's `approx_kl` is not, as in SB3).
        public var extra: [(name: String, value: Double)] = []
    }

    private let schema: MetricsSchema
    /// The CSV's columns: the schema's, then keys it does not list (environment figures) in order of appearance.
    private var columns: [LoggedScalar]
    private var csv: FileHandle
    private let jsonl: FileHandle
    private let csvPath: String, jsonlPath: String
    private let tensorboard: TensorBoardWriter

    /// Opens the logs in `directory` for an algorithm logging `schema`; when resuming at `resumeStep`, lines logged
    /// after it (work lost with the interrupted process) are dropped so the logs match an uninterrupted run.
    public init(directory: String, schema: MetricsSchema, resume: Bool, resumeStep: Int = .max) throws {
        let csvPath = directory + "/metrics.csv", jsonlPath = directory + "/metrics.jsonl"
        self.csvPath = csvPath
        self.jsonlPath = jsonlPath
        self.schema = schema
        let manager = FileManager.default
        if !resume || !manager.fileExists(atPath: jsonlPath) {
            try Data().write(to: URL(fileURLWithPath: jsonlPath), options: .atomic)
        } else {
            try Self.dropLines(after: resumeStep, in: jsonlPath)
        }
        columns = try Self.rebuildTable(csvPath: csvPath, jsonlPath: jsonlPath, columns: schema.columns)
        csv = try Self.openForAppending(csvPath)
        jsonl = try Self.openForAppending(jsonlPath)
        try manager.createDirectory(atPath: directory + "/tensorboard", withIntermediateDirectories: true)
        tensorboard = try TensorBoardWriter(directory: directory + "/tensorboard")
    }

    deinit { try? csv.close(); try? jsonl.close() }

    /// Appends a training row to the three logs; a failed write (a full disk) is an error naming the file.
    public func write(_ row: Row) throws {
        let values: [(name: String, value: Double?)] = [
            (LogNames.episodes.key, Double(row.episodes)), (LogNames.returnMean.key, row.returnMean),
            (LogNames.lengthMean.key, row.lengthMean), (LogNames.explorationRate.key, row.epsilon),
            (LogNames.loss.key, row.loss), (LogNames.stepsPerSecond.key, row.stepsPerSecond),
        ] + row.extra.map { ($0.name, $0.value) }
        try record(step: row.step, values.compactMap { name, value in
            guard let value, let scalar = schema.scalar(name) else { return nil }
            return (scalar, value)
        })
    }

    /// Logs an evaluation; `elapsed` is wall-clock seconds since this session of the run started.
    public func writeEvaluation(step: Int, _ result: EvaluationResult, elapsed: Double) throws {
        try record(step: step, result.loggedScalars(elapsed: elapsed))
    }

    /// Writes one line of `scalars` at `step`. Values that are not finite numbers are left out (an empty cell).
    private func record(step: Int, _ scalars: [(LoggedScalar, Double)]) throws {
        let logged = scalars.filter { $0.1.isFinite }
        var object: [String: Any] = [LogNames.step.key: step]
        for (scalar, value) in logged {
            object[scalar.key] = scalar.isCount ? (Int(exactly: value).map { $0 as Any } ?? value) : value
        }
        let line: Data
        do { line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) } catch {
            throw TrainingError.cannotWrite(jsonlPath, "a metrics line could not be encoded as JSON (\(error.localizedDescription))")
        }
        try append(line + Data("\n".utf8), to: jsonl, path: jsonlPath)
        let written = Self.parse(line) ?? [:]
        if written.keys.contains(where: { key in !columns.contains { $0.key == key } }) {
            try csv.close()
            columns = try Self.rebuildTable(csvPath: csvPath, jsonlPath: jsonlPath, columns: columns)
            csv = try Self.openForAppending(csvPath)
        } else {
            try append(Data((Self.csvRow(written, columns: columns) + "\n").utf8), to: csv, path: csvPath)
        }
        try tensorboard.scalars(logged.compactMap { scalar, value in scalar.tag.map { ($0, value * scalar.tensorBoardSign) } }, step: step)
    }

    // MARK: The table

    /// Writes `metrics.csv` from `metrics.jsonl`: `columns`, then any further keys the lines hold (sorted by name
    /// within a line). Lines that are not JSON objects, keys that are not lower-case names and values that are not
    /// numbers are left out. Returns the columns written.
    static func rebuildTable(csvPath: String, jsonlPath: String, columns: [LoggedScalar]) throws -> [LoggedScalar] {
        let text = FileManager.default.contents(atPath: jsonlPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let objects = text.split(separator: "\n").compactMap { parse(Data($0.utf8)) }
        var columns = columns
        for object in objects {
            let known = Set(columns.map(\.key))
            columns += object.keys.filter { !known.contains($0) && isColumnName($0) }.sorted().map(LogNames.unlisted)
        }
        let table = ([columns.map(\.key).joined(separator: ",")] + objects.map { csvRow($0, columns: columns) })
            .joined(separator: "\n") + "\n"
        do { try Data(table.utf8).write(to: URL(fileURLWithPath: csvPath), options: .atomic) } catch {
            throw TrainingError.cannotWrite(csvPath, error.localizedDescription)
        }
        return columns
    }

    static func csvRow(_ object: [String: Any], columns: [LoggedScalar]) -> String {
        columns.map { column in
            guard let number = object[column.key] as? NSNumber else { return "" }
            let value = number.doubleValue
            guard value.isFinite else { return "" }
            if column.isCount, let count = Int(exactly: value) { return String(count) }
            return "\(value)"
        }.joined(separator: ",")
    }

    static func isColumnName(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 64 && key.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    static func parse(_ line: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
    }

    private static func dropLines(after step: Int, in path: String) throws {
        let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let kept = text.split(separator: "\n").filter { line in
            (parse(Data(line.utf8))?[LogNames.step.key] as? Int).map { $0 <= step } ?? true
        }
        do {
            try Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch { throw TrainingError.cannotWrite(path, error.localizedDescription) }
    }

    private static func openForAppending(_ path: String) throws -> FileHandle {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        return handle
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
