import Foundation
import Sim

/// A group of runs that differ only in their seed: `<folder>/group.json` and one run directory per seed
/// (`<folder>/seed0`, `seed1`, …), made by `dojo train --seeds`. `dojo compare` reads a group as one set of runs.
public struct RunGroup: Codable, Equatable, Sendable {
    public static let fileName = "group.json"
    public static let formatName = "dojo-run-group"

    public var format = RunGroup.formatName
    public var version = 1
    /// The group's name (its folder's last component when made).
    public var name: String
    public var seeds: [UInt64]
    /// The `dojo train` arguments every run shares (everything but --seed, --out and --threads), so a seed that never
    /// started can be started on resume exactly as the others were.
    public var arguments: [String]

    public init(name: String, seeds: [UInt64], arguments: [String]) {
        self.name = name; self.seeds = seeds; self.arguments = arguments
    }

    /// The run directory of `seed`, inside `folder`.
    public static func runDirectory(_ folder: String, seed: UInt64) -> String { "\(folder)/seed\(seed)" }

    /// Parses a seed list: "0-4" (a range), "0,3,7", or a mix ("0-2,9"); at most 1,000 seeds, no repeats.
    public static func parseSeeds(_ text: String) throws -> [UInt64] {
        var seeds: [UInt64] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = UInt64(bounds[0]), let high = UInt64(bounds.last!), low <= high else {
                throw TrainingError.invalidConfig(["--seeds \(quotedForMessage(text)): \(quotedForMessage(part)) is not a seed or a range such as 0-4; write e.g. --seeds 0-4 or --seeds 0,3,7"])
            }
            guard high - low < 1_000, seeds.count + Int(high - low) < 1_000 else {
                throw TrainingError.invalidConfig(["--seeds \(quotedForMessage(text)) names more than 1,000 seeds"])
            }
            seeds += Array(low...high)
        }
        guard Set(seeds).count == seeds.count else {
            throw TrainingError.invalidConfig(["--seeds \(quotedForMessage(text)) names a seed twice"])
        }
        return seeds
    }

    /// Writes group.json into `folder` atomically.
    public func write(to folder: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = folder + "/" + Self.fileName
        do { try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw TrainingError.cannotWrite(path, error.localizedDescription)
        }
    }

    /// Reads `folder`/group.json, or nil if the folder has none; a damaged file is an error naming it.
    public static func read(from folder: String) throws -> RunGroup? {
        let path = folder + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size <= 1 << 20,
              let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.corruptCheckpoint("\(path) is unreadable or larger than 1 MB; it should be the group.json dojo train --seeds writes")
        }
        do {
            let group = try JSONDecoder().decode(RunGroup.self, from: data)
            guard group.format == formatName, group.version == 1, !group.seeds.isEmpty, group.seeds.count <= 1_000,
                  Set(group.seeds).count == group.seeds.count else {
                throw TrainingError.corruptCheckpoint("\(path) is not a version-1 \(formatName) file with 1 to 1,000 distinct seeds")
            }
            return group
        } catch let error as TrainingError { throw error } catch {
            throw TrainingError.corruptCheckpoint("\(path) is not a valid group file (\(error)); it should be the group.json dojo train --seeds writes")
        }
    }
}

/// The last evaluation of a run, read from its metrics.jsonl (nil when it has none yet).
public struct RunProgress: Sendable {
    public var step = 0
    public var evaluationStep: Int?
    public var evaluationReturn: Double?
    public var evaluationSuccess: Double?

    /// Reads `directory`/metrics.jsonl; unparsable lines (a line being written, or damage) are skipped.
    public static func read(_ directory: String) -> RunProgress {
        var progress = RunProgress()
        guard let text = try? String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8) else { return progress }
        for line in text.split(separator: "\n") {
            guard let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let step = (row[LogNames.step.key] as? NSNumber)?.intValue { progress.step = max(progress.step, step) }
            if let value = (row[LogNames.evaluationReturnMean.key] as? NSNumber)?.doubleValue, value.isFinite {
                progress.evaluationReturn = value
                progress.evaluationStep = (row[LogNames.step.key] as? NSNumber)?.intValue
                progress.evaluationSuccess = (row[LogNames.evaluationSuccessRate.key] as? NSNumber)?.doubleValue
            }
        }
        return progress
    }
}
