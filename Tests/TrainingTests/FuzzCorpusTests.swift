import Foundation
import FuzzHarness
import Neural
import Sim
@testable import Training
import Testing
import TestSupport

/// The fuzz targets' committed seed corpora and every committed crasher, run through the same harness functions as
/// `scripts/fuzz.sh` (in process, without a sanitizer): each must come back without trapping, so a crash found by
/// fuzzing and fixed stays fixed.
@Suite(.serialized) struct FuzzCorpusTests {
    init() { pinBLASToOneThread() }

    /// The repository's `fuzz/` folder.
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz").path

    static func inputs(_ kind: String, _ target: String) -> [String] {
        let folder = fuzzFolder + "/\(kind)/\(target)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder + "/" + $0 }
    }

    @Test("Every committed seed and crasher runs through its fuzz harness without trapping",
          arguments: ["map", "replay", "safetensors", "config", "state", "c-interface"])
    func corpusAndCrashers(target: String) throws {
        let harness = try #require(fuzzTargets.first { $0.name == target }).run
        let seeds = Self.inputs("corpus", target)
        #expect(!seeds.isEmpty, "fuzz/corpus/\(target) has no seeds")
        for path in seeds + Self.inputs("crashers", target) {
            harness(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }
}

@Suite struct FuzzFindingTests {
    /// Found by the config fuzz target: a YAML mapping used as a key made Yams trap (force unwrap) while building the
    /// config. Now refused with an error naming the line.
    @Test("A config file whose key is a mapping or a list is refused, not a trap")
    func nonScalarKeys() throws {
        for text in ["{ {learning_rate: 0.001}: 1 }", "? [a, b]\n: 1\n", "dqn: {[1]: 2}"] {
            var config = RunConfig()
            #expect(throws: TrainingError.self, "\(text)") {
                try RunRequest.merge(contents: Data(text.utf8), path: "bad.yaml", into: &config)
            }
            do { try RunRequest.merge(contents: Data(text.utf8), path: "bad.yaml", into: &config) } catch {
                #expect("\(error)".contains("bad.yaml") && "\(error)".contains("key"), "\(error)")
            }
        }
    }
}

extension FuzzFindingTests {
    /// Found by the state fuzz target: a state file whose evaluation history held NaN restored, and drawing the
    /// learning curve after the next round trapped converting NaN to a pixel. The record is now checked on restore,
    /// and the curve and the canvas skip what they cannot place.
    @Test("A run record with NaN or infinite values is refused on resume; the curve and canvas never trap on them")
    func nonFiniteRunRecord() throws {
        let run = temporaryDirectory("fuzz-record")
        _ = try DQNTrainer(config: smallRun(), directory: run).run(stopAt: 600)
        let nan = Int64(bitPattern: Double.nan.bitPattern), infinity = Int64(bitPattern: Double.infinity.bitPattern)
        for (name, values) in [("eval_history.bits", [0, nan]), ("history.bits", [infinity, 0]), ("recent.returns_bits", [nan])] {
            let copy = try alteredCopy(of: run) { file in
                file.replace(name, int64s(values))
                if name == "recent.returns_bits" { file.replace("recent.lengths_bits", int64s([0])) }
            }
            #expect(throws: TrainingError.self, "\(name)") { _ = try makeTrainer(config: smallRun(), directory: copy, resume: true) }
        }
        let points: [(step: Double, value: Double)] = [(0, .nan), (1, 1e308), (2, -1e308), (.infinity, 0), (3, 4)]
        _ = LearningCurve.render(title: "t", training: points, evaluation: points)
        var canvas = Canvas(width: 8, height: 8, background: .white)
        canvas.fillCircle(centerX: .nan, centerY: 1, radius: 4, .black)
        canvas.line(from: (0, 0), to: (1e300, -1e300), thickness: 2, .black)
        canvas.line(from: (.nan, 0), to: (1, 1), thickness: 2, .black)
    }
}

extension FuzzFindingTests {
    /// Found by the state fuzz target (`fuzz/crashers/state/huge-history-step.bin`): a learning-curve step near
    /// Double's maximum restored, and the axis label at 4 × maxStep / 4 overflowed to infinity and trapped as a pixel.
    @Test("Learning-curve steps outside 0...2^53 are refused on resume; the curve never traps on huge finite values")
    func hugeHistoryStep() throws {
        let canvas = LearningCurve.render(title: "t", training: [(1e308, 1), (1.7e308, 2)], evaluation: [(1.79e308, -1e308)])
        #expect(canvas.width == 800)
        let run = temporaryDirectory("fuzz-huge-step")
        _ = try DQNTrainer(config: smallRun(), directory: run).run(stopAt: 600)
        let path = run + "/checkpoints/last/state.safetensors"
        var state = try SafeTensors.read(from: path)
        state.tensors["history.bits"] = .int64(shape: [2], values: [Int64(bitPattern: (1.7e308).bitPattern), Int64(bitPattern: (1.0).bitPattern)])
        try SafeTensors.encode(state).write(to: URL(fileURLWithPath: path))
        #expect(throws: TrainingError.self) { _ = try DQNTrainer(config: smallRun(), directory: run, resume: true) }
    }
}

extension FuzzFindingTests {
    /// Found by the config fuzz target (`fuzz/crashers/config/base-60-overflow.yaml`): YAML 1.1 reads `1:30` as a
    /// base-60 integer, and Yams multiplied a long one out without an overflow check and trapped.
    @Test("A long base-60 number in a config is text, not a trap")
    func base60Overflow() throws {
        var config = RunConfig()
        #expect(throws: TrainingError.self) {
            try RunRequest.merge(contents: Data("dqn:\n  batch_size: -3777776777777777776:8\n".utf8), path: "b.yaml", into: &config)
        }
        #expect(try BoundedYAML.load("-3777776777777777776:8") as? String == "-3777776777777777776:8")
        #expect(try BoundedYAML.load("42") as? Int == 42)
    }
}
