import Foundation
import FuzzHarness
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
          arguments: ["map", "replay", "safetensors", "config", "state"])
    func corpusAndCrashers(target: String) throws {
        let harness = try #require(fuzzTargets.first { $0.name == target }).run
        let seeds = Self.inputs("corpus", target)
        #expect(!seeds.isEmpty, "fuzz/corpus/\(target) has no seeds")
        for path in seeds + Self.inputs("crashers", target) {
            harness(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }
}
