import Agents
import Foundation
import Testing
import TestSupport
@testable import Training

/// One scalar read back from a TensorBoard event file.
struct TensorBoardScalar: Hashable {
    var step: Int
    var tag: String
    var value: Float
}

/// Reads TensorBoard event files as TensorBoard does: TFRecords (length, masked CRC-32C of the length, payload,
/// masked CRC-32C of the payload) around `Event` protocol buffers (step = field 2, summary = field 5; a summary
/// value's tag = field 1, simple_value = field 2). Independent of the writer's encoder, so it checks the bytes.
enum TensorBoardReader {
    struct Malformed: Error, CustomStringConvertible { var description: String }

    static func scalars(in path: String) throws -> [TensorBoardScalar] {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = 0, scalars: [TensorBoardScalar] = []
        func little<T: FixedWidthInteger>(_ start: Int, _ count: Int, as: T.Type) -> T {
            data[start..<(start + count)].reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
        while offset < data.count {
            guard offset + 12 <= data.count else { throw Malformed(description: "a record header is cut at byte \(offset)") }
            let length = Int(little(offset, 8, as: UInt64.self))
            guard little(offset + 8, 4, as: UInt32.self) == TensorBoardWriter.maskedCRC(Data(data[offset..<(offset + 8)])),
                  offset + 16 + length <= data.count else { throw Malformed(description: "bad record length at byte \(offset)") }
            let payload = Array(data[(offset + 12)..<(offset + 12 + length)])
            guard little(offset + 12 + length, 4, as: UInt32.self) == TensorBoardWriter.maskedCRC(Data(payload)) else {
                throw Malformed(description: "bad payload CRC at byte \(offset)")
            }
            offset += 16 + length
            var step = 0, summaries: [[UInt8]] = []
            for field in try fields(payload) {
                if field.number == 2, let v = field.varint { step = Int(v) }
                if field.number == 5, let bytes = field.bytes { summaries.append(bytes) }
            }
            for summary in summaries {
                for value in try fields(summary) where value.number == 1 {
                    var tag: String?, number: Float?
                    for part in try fields(value.bytes ?? []) {
                        if part.number == 1, let bytes = part.bytes { tag = String(decoding: bytes, as: UTF8.self) }
                        if part.number == 2, let bits = part.fixed32 { number = Float(bitPattern: bits) }
                    }
                    if let tag, let number { scalars.append(TensorBoardScalar(step: step, tag: tag, value: number)) }
                }
            }
        }
        return scalars
    }

    struct Field { var number: Int; var varint: UInt64?; var fixed32: UInt32?; var bytes: [UInt8]? }

    /// The fields of a protocol-buffer message (varint, fixed64, length-delimited and fixed32 wire types).
    static func fields(_ message: [UInt8]) throws -> [Field] {
        var i = 0, result: [Field] = []
        func varint() throws -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < message.count, shift < 64 else { throw Malformed(description: "a varint runs past its message") }
                let byte = message[i]
                i += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        while i < message.count {
            let key = try varint()
            var field = Field(number: Int(key >> 3))
            switch key & 7 {
            case 0: field.varint = try varint()
            case 1: i += 8
            case 2:
                let count = Int(try varint())
                guard i + count <= message.count else { throw Malformed(description: "a field runs past its message") }
                field.bytes = Array(message[i..<(i + count)])
                i += count
            case 5:
                guard i + 4 <= message.count else { throw Malformed(description: "a fixed32 runs past its message") }
                field.fixed32 = message[i..<(i + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                i += 4
            default: throw Malformed(description: "unknown wire type \(key & 7)")
            }
            result.append(field)
        }
        return result
    }
}

/// A run's `metrics.jsonl` lines.
func metricsLines(_ run: String) throws -> [[String: Any]] {
    try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

/// A run's `metrics.csv`: the header and the rows, cut at commas.
func metricsTable(_ run: String) throws -> (header: [String], rows: [[String]]) {
    let lines = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.last == "", "metrics.csv ends with a newline")
    let cells = lines.dropLast().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    return (cells.first ?? [], Array(cells.dropFirst()))
}

/// `metrics.csv` without its wall-clock columns, for comparing runs.
func metricsTableWithoutTiming(_ run: String) throws -> [[String]] {
    let table = try metricsTable(run)
    let timing = Set(table.header.indices.filter { [LogNames.stepsPerSecond.key, LogNames.elapsed.key].contains(table.header[$0]) })
    #expect(timing.count == 2, "metrics.csv has its timing columns")
    return ([table.header] + table.rows).map { row in row.indices.filter { !timing.contains($0) }.map { row[$0] } }
}

/// Checks that `metrics.csv` holds every scalar of `metrics.jsonl`, line for line with equal values, under the schema's
/// columns in order, and that TensorBoard holds each tagged scalar (sign included) and nothing else.
func checkLogs(of run: String, schema: MetricsSchema, tensorBoard: Bool = true) throws {
    let lines = try metricsLines(run)
    let table = try metricsTable(run)
    #expect(Array(table.header.prefix(schema.columns.count)) == schema.columns.map(\.key), "the schema's columns first, in order")
    #expect(Set(table.header).count == table.header.count, "no column twice")
    #expect(table.rows.count == lines.count, "one CSV row per JSON line")
    let known = Dictionary(schema.columns.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    var expected: [TensorBoardScalar] = []
    for (object, row) in zip(lines, table.rows) {
        #expect(row.count == table.header.count)
        let step = try #require(object["step"] as? Int)
        for (column, cell) in zip(table.header, row) {
            guard let value = (object[column] as? NSNumber)?.doubleValue else {
                #expect(cell.isEmpty, "\(column) at step \(step): a cell without a JSON value")
                continue
            }
            #expect(Double(cell) == value, "\(column) at step \(step): CSV \(cell), JSON \(value)")
        }
        for (key, value) in object where key != "step" {
            #expect(table.header.contains(key), "\(key) has a column")
            let scalar = known[key] ?? LogNames.unlisted(key)
            if let tag = scalar.tag, let number = (value as? NSNumber)?.doubleValue {
                expected.append(TensorBoardScalar(step: step, tag: tag, value: Float(number * scalar.tensorBoardSign)))
            }
        }
    }
    guard tensorBoard else { return }
    let folder = run + "/tensorboard"
    let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("events.out.tfevents.") }
    #expect(files.count == 1)
    let logged = try TensorBoardReader.scalars(in: folder + "/" + (files.first ?? ""))
    #expect(logged.count == expected.count, "TensorBoard holds as many scalars as the JSON lines")
    #expect(Set(logged) == Set(expected), "TensorBoard's scalars are the JSON lines' under their tags")
}

@Suite(.serialized) struct LogTests {
    init() { pinBLASToOneThread() }

    /// SB3's tags each run must show (SB3's logger, on-policy and off-policy loops, PPO, A2C, DQN, EvalCallback).
    static let sharedTags = ["rollout/ep_rew_mean", "rollout/ep_len_mean", "time/fps", "train/learning_rate", "train/n_updates",
                             "eval/mean_reward", "eval/mean_ep_length"]
    static let dqnTags = sharedTags + ["rollout/exploration_rate", "train/loss"]
    static let ppoTags = sharedTags + ["train/loss", "train/policy_gradient_loss", "train/value_loss", "train/entropy_loss",
                                       "train/approx_kl", "train/clip_fraction", "train/explained_variance"]
    static let a2cTags = sharedTags + ["train/policy_loss", "train/value_loss", "train/entropy_loss", "train/explained_variance"]

    static func tags(of run: String) throws -> Set<String> {
        let folder = run + "/tensorboard"
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasPrefix("events.out.tfevents.") })
        return Set(try TensorBoardReader.scalars(in: folder + "/" + file).map(\.tag))
    }

    @Test("DQN logs: SB3's TensorBoard tags with the logged values; metrics.csv holds every metrics.jsonl scalar")
    func dqnLogs() throws {
        let run = temporaryDirectory("logs-dqn")
        _ = try DQNTrainer(config: smallRun(steps: 2_000), directory: run).run()
        try checkLogs(of: run, schema: .dqn)
        let tags = try Self.tags(of: run)
        #expect(Self.dqnTags.allSatisfy(tags.contains), "missing: \(Self.dqnTags.filter { !tags.contains($0) })")
        #expect(!tags.contains("train/approx_kl") && !tags.contains("eval/success_rate"))
        // Every DQN column is filled somewhere (success only on environments that report it).
        let lines = try metricsLines(run)
        for column in MetricsSchema.dqn.columns where column.key != LogNames.evaluationSuccessRate.key {
            #expect(lines.contains { $0[column.key] != nil }, "\(column.key) is never logged")
        }
        // n_updates counts gradient steps: gradient_steps at every train_freq-th vector step past learning_starts.
        let config = smallRun(steps: 2_000), copies = config.nEnvs, d = config.dqn
        for line in lines where line["n_updates"] != nil {
            let iterations = (line["step"] as? Int ?? 0) / copies
            let trained = (1...iterations).filter { $0 * copies > d.learningStarts && $0 % d.trainFreq == 0 }.count
            #expect(line["n_updates"] as? Int == trained * d.gradientSteps, "\(line)")
        }
        #expect(lines.contains { ($0["n_updates"] as? Int ?? 0) > 0 })
    }

    @Test("Gridworld evaluations add success and the environment's own figures, as columns and eval/ tags")
    func environmentFigures() throws {
        var config = smallRun(steps: 1_000)
        config.env = "gridworld"
        config.envOptions = ["map": "empty", "max_steps": "30"]
        config.evalFreq = 500
        let run = temporaryDirectory("logs-grid")
        _ = try DQNTrainer(config: config, directory: run).run()
        try checkLogs(of: run, schema: .dqn)
        let header = try metricsTable(run).header
        #expect(header.contains("eval_success_rate") && header.contains("eval_optimal_return_mean"))
        let tags = try Self.tags(of: run)
        #expect(tags.contains("eval/success_rate") && tags.contains("eval/optimal_return_mean"))
    }

    @Test("PPO and A2C logs: SB3's TensorBoard tags (entropy_loss is the negative entropy); metrics.csv holds every metrics.jsonl scalar",
          arguments: ["ppo", "a2c"])
    func actorCriticLogs(agent: String) throws {
        let run = temporaryDirectory("logs-\(agent)")
        _ = try ActorCriticTrainer(config: smallActorCriticRun(agent: agent, steps: 1_024), directory: run).run()
        let schema: MetricsSchema = agent == "ppo" ? .ppo : .a2c
        try checkLogs(of: run, schema: schema)
        let tags = try Self.tags(of: run)
        let required = agent == "ppo" ? Self.ppoTags : Self.a2cTags
        #expect(required.allSatisfy(tags.contains), "missing: \(required.filter { !tags.contains($0) })")
        #expect(tags.contains("train/std") && tags.contains("eval/final_distance"), "Gaussian arm policy: \(tags.sorted())")
        #expect(tags.contains("train/approx_kl") == (agent == "ppo") && tags.contains("train/clip_fraction") == (agent == "ppo"))
        #expect(!tags.contains("rollout/exploration_rate"))
        let lines = try metricsLines(run)
        // SB3's entropy_loss is −entropy: checked against the JSON lines directly, not through the table's sign.
        var entropies: [Int: Double] = [:]
        for line in lines { if let step = line["step"] as? Int, let entropy = line["entropy"] as? Double { entropies[step] = entropy } }
        let folder = run + "/tensorboard"
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasPrefix("events.out.tfevents.") })
        let entropyLosses = try TensorBoardReader.scalars(in: folder + "/" + file).filter { $0.tag == "train/entropy_loss" }
        #expect(!entropyLosses.isEmpty && entropyLosses.count == entropies.count)
        for point in entropyLosses {
            #expect(point.value == Float(-(entropies[point.step] ?? .nan)) && point.value < 0, "step \(point.step): \(point.value)")
        }
        let rollout = 4 * (agent == "ppo" ? 64 : 8), epochs = agent == "ppo" ? 3 : 1
        for line in lines where line["n_updates"] != nil {
            #expect(line["n_updates"] as? Int == (line["step"] as? Int ?? 0) / rollout * epochs, "\(line)")
        }
        for line in lines where line["explained_variance"] != nil {
            #expect((line["explained_variance"] as? Double).map { $0 <= 1 } == true)
        }
    }

    @Test("Resuming a run logged by an earlier Dojo (its old metrics.csv header) rebuilds the table with the current columns")
    func resumeOldRun() throws {
        let run = temporaryDirectory("logs-old")
        try FileManager.default.copyItem(atPath: Fixtures.path("hostile/run"), toPath: run)
        let oldHeader = try metricsTable(run).header
        #expect(oldHeader.last == "steps_per_second" && !oldHeader.contains("n_updates"))
        let linesBefore = try metricsLines(run).count
        let trainer = try DQNTrainer(config: try RunConfig.load(run: run), directory: run, resume: true)
        let resumedAt = trainer.step
        _ = try trainer.run()
        try checkLogs(of: run, schema: .dqn, tensorBoard: false)  // the event file keeps the earlier tags
        let lines = try metricsLines(run)
        #expect(lines.count > linesBefore && lines.contains { ($0["step"] as? Int ?? 0) > resumedAt && $0["n_updates"] != nil })
        let text = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8)
        #expect(text.components(separatedBy: "step,").count == 2, "one header")
    }

    @Test("Explained variance is SB3's 1 − Var[return − value] / Var[return], NaN when the returns do not vary")
    func explainedVariance() {
        let buffer = RolloutBuffer(steps: 2, copies: 2, observationSize: 1, actionWidth: 1)
        for (i, (target, value)) in [(1.0, 0.5), (2.0, 2.5), (3.0, 2.0), (4.0, 4.0)].enumerated() {
            buffer.returns[i] = Float(target); buffer.values[i] = Float(value)
        }
        // Var[return] = 1.25; errors 0.5, −0.5, 1, 0 (mean 0.25): Var = 0.3125; 1 − 0.3125 / 1.25 = 0.75.
        #expect(abs(buffer.explainedVariance - 0.75) < 1e-12)
        for i in 0..<4 { buffer.returns[i] = 2 }
        #expect(buffer.explainedVariance.isNaN)
    }

    @Test("Rebuilding metrics.csv from a damaged metrics.jsonl skips what is not a metric and keeps the rest")
    func damagedLines() throws {
        let folder = temporaryDirectory("logs-damaged")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let lines = ["{\"step\":10,\"episodes\":1,\"loss\":0.5}", "not json", "[1,2]", "{\"step\":20,\"Bad,Key\":1,\"loss\":\"x\"}",
                     "{\"step\":30,\"eval_new_figure\":2.5}"]
        let bytes = Data((lines.joined(separator: "\n") + "\n").utf8) + Data([0xFF, 0xFE, 0x0A])  // and a line that is not UTF-8
        try bytes.write(to: URL(fileURLWithPath: folder + "/metrics.jsonl"))
        let columns = try MetricsLog.rebuildTable(csvPath: folder + "/metrics.csv", jsonlPath: folder + "/metrics.jsonl",
                                                  columns: MetricsSchema.dqn.columns)
        #expect(columns.map(\.key) == MetricsSchema.dqn.columns.map(\.key) + ["eval_new_figure"])
        #expect(columns.last?.tag == "eval/new_figure")
        let table = try metricsTable(folder)
        #expect(table.header == columns.map(\.key) && table.rows.count == 3)
        let loss = try #require(table.header.firstIndex(of: "loss"))
        #expect(table.rows.map { $0[loss] } == ["0.5", "", ""])
        #expect(table.rows.map { $0[0] } == ["10", "20", "30"])
    }

    @Test("README's logs table lists every column with its TensorBoard tag")
    func documented() throws {
        let readme = try String(contentsOfFile: Fixtures.root + "/../../README.md", encoding: .utf8).split(separator: "\n")
        for schema in MetricsSchema.all {
            for column in schema.columns {
                let documented = readme.contains { line in
                    line.hasPrefix("| `\(column.key)` |") && (column.tag.map { line.contains("`\($0)`") } ?? true)
                }
                #expect(documented, "\(schema.title): `\(column.key)` → \(column.tag ?? "no tag") is not in README's logs table")
            }
        }
    }
}
