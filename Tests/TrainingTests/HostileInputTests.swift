import Foundation
import Neural
import Sim
import Testing
import TestSupport
@testable import Training

/// The hostile-input corpus (`Tests/Fixtures/hostile`): bad maps, replays, config files, run configs, model and state
/// files, flags, run directories and faults, each run through the real `dojo` binary. Every case must end with an
/// exit status in 1...123 and a message on stderr, by no signal, within 10 s, and leave every file it was given as it
/// was. The corpus is written by `HostileCorpus.write()` (run the suite with `DOJO_WRITE_FIXTURES=1`).
@Suite(.serialized) struct HostileInputTests {
    init() { pinBLASToOneThread() }

    @Test("Every hostile input is refused clearly: no crash, no hang, no silent accept, no data lost")
    func corpus() throws {
        if ProcessInfo.processInfo.environment["DOJO_WRITE_FIXTURES"] == "1" { try HostileCorpus.write() }
        let corpus = HostileCorpus()
        // Controls: the base run is valid, so the refusals below are about the alterations.
        let control = try corpus.run(HostileCase(area: "control", name: "eval of the intact run", arguments: ["eval", "{run}", "--episodes", "2"]))
        let measuringAnotherBuild = ProcessInfo.processInfo.environment["DOJO_BINARY"] != nil
        #expect(control.status == 0 || measuringAnotherBuild, "the intact base run should evaluate: \(control.stderr)")
        let resumed = try corpus.run(HostileCase(area: "control", name: "resume of the intact run", arguments: ["train", "--resume", "{run}"]))
        #expect(resumed.status == 0 || measuringAnotherBuild, "the intact base run should resume: \(resumed.stderr)")

        var table: [String: HostileTally] = [:]
        for hostile in try corpus.cases() {
            let outcome = try corpus.run(hostile)
            table[hostile.area, default: HostileTally()].add(outcome)
            #expect(outcome.verdict == .clearError, "\(hostile.area) / \(hostile.name): \(outcome.verdict) (status \(outcome.status)) \(outcome.stderr.prefix(300))")
        }
        print("hostile inputs through the binary (area, cases, clear errors, crashes, hangs, silent accepts, data lost):")
        for area in table.keys.sorted() {
            let t = table[area]!
            print("  \(area): \(t.cases) cases, \(t.clear) clear, \(t.crashes) crashes, \(t.hangs) hangs, \(t.silent) silent, \(t.lost) data lost")
        }
    }
}

struct HostileCase {
    var area: String
    var name: String
    /// `{run}`: a fresh copy of the base run; `{tmp}`: a fresh empty folder path (not created); `{file}`: `input`.
    var arguments: [String]
    var input: String? = nil
    var environment: [String: String] = [:]
    /// Files placed into the copied run before the command: path inside the run → corpus file.
    var place: [String: String] = [:]
    /// Changes to the copied run before the command (symlinks, locks).
    var prepare: ((String) throws -> Void)? = nil
    /// A fault in the middle of training: the run's logs may have moved on, but its checkpoints must be as they were
    /// and it must resume once the fault is gone.
    var progresses = false
}

struct HostileOutcome {
    enum Verdict: Equatable { case clearError, crash, hang, silentAccept, dataLost, noMessage }
    var status: Int32
    var stderr: String
    var verdict: Verdict
}

struct HostileTally {
    var cases = 0, clear = 0, crashes = 0, hangs = 0, silent = 0, lost = 0
    mutating func add(_ outcome: HostileOutcome) {
        cases += 1
        switch outcome.verdict {
        case .clearError: clear += 1
        case .crash: crashes += 1
        case .hang: hangs += 1
        case .silentAccept: silent += 1
        case .dataLost: lost += 1
        case .noMessage: break
        }
    }
}

struct HostileCorpus {
    static let root = Fixtures.path("hostile")
    /// The `dojo` built beside the tests, or `DOJO_BINARY` (to measure another build, e.g. an older one, on the corpus).
    let binary = ProcessInfo.processInfo.environment["DOJO_BINARY"].map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dojo")

    func files(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: Self.root + "/" + folder).sorted().map { Self.root + "/" + folder + "/" + $0 }
    }

    /// Every case: corpus files through the commands that read them, then flags, run directories and faults.
    func cases() throws -> [HostileCase] {
        var cases: [HostileCase] = []
        for map in try files("maps") {
            let name = (map as NSString).lastPathComponent
            cases.append(HostileCase(area: "maps", name: "render \(name)", arguments: ["render", "gridworld", "--option", "map={file}", "--out", "{tmp}/map.png"], input: map))
            cases.append(HostileCase(area: "maps", name: "train \(name)", arguments: ["train", "gridworld", "--option", "map={file}", "--steps", "100", "--out", "{tmp}"], input: map))
        }
        for replay in try files("replays") {
            let name = (replay as NSString).lastPathComponent
            cases.append(HostileCase(area: "replays", name: "verify \(name)", arguments: ["replay", "{file}", "--verify"], input: replay))
            cases.append(HostileCase(area: "replays", name: "play \(name)", arguments: ["replay", "{file}", "--headless", "--frames", "{tmp}"], input: replay))
        }
        for config in try files("configs") {
            let name = (config as NSString).lastPathComponent
            cases.append(HostileCase(area: "configs", name: name, arguments: ["train", "--config", "{file}", "--steps", "100", "--out", "{tmp}"], input: config))
        }
        for config in try files("runconfigs") {
            let name = (config as NSString).lastPathComponent
            for (command, arguments) in [("eval", ["eval", "{run}", "--episodes", "2"]), ("resume", ["train", "--resume", "{run}"]),
                                         ("watch", ["watch", "{run}", "--headless", "--frames", "{tmp}", "--episodes", "1"])] {
                cases.append(HostileCase(area: "run configs", name: "\(command) with \(name)", arguments: arguments, place: ["config.json": config]))
            }
        }
        for model in try files("models") {
            let name = (model as NSString).lastPathComponent
            cases.append(HostileCase(area: "model files", name: "eval with \(name)", arguments: ["eval", "{run}", "--episodes", "2"],
                                     place: ["checkpoints/best/model.safetensors": model]))
            cases.append(HostileCase(area: "model files", name: "resume with \(name)", arguments: ["train", "--resume", "{run}"],
                                     place: ["checkpoints/last/model.safetensors": model]))
            cases.append(HostileCase(area: "model files", name: "watch with \(name)",
                                     arguments: ["watch", "{run}", "--headless", "--frames", "{tmp}", "--episodes", "1"],
                                     place: ["checkpoints/best/model.safetensors": model]))
        }
        for state in try files("states") {
            let name = (state as NSString).lastPathComponent
            cases.append(HostileCase(area: "state files", name: "resume with \(name)", arguments: ["train", "--resume", "{run}"],
                                     place: ["checkpoints/last/state.safetensors": state]))
        }
        let flags = try String(contentsOfFile: Self.root + "/flags.txt", encoding: .utf8)
        for line in flags.split(separator: "\n") where !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
            cases.append(HostileCase(area: "options/flags", name: String(line), arguments: line.split(separator: " ").map(String.init)))
        }
        cases += [
            HostileCase(area: "run directories", name: "--out at an existing run", arguments: ["train", "cartpole", "--steps", "100", "--out", "{run}"]),
            HostileCase(area: "run directories", name: "--out at a folder with a user's files", arguments: ["train", "cartpole", "--steps", "100", "--out", "{run}/checkpoints"]),
            HostileCase(area: "run directories", name: "--out at a file", arguments: ["train", "cartpole", "--steps", "100", "--out", "{run}/config.json"]),
            HostileCase(area: "run directories", name: "--resume of a folder that is not a run", arguments: ["train", "--resume", "{run}/checkpoints"]),
            HostileCase(area: "run directories", name: "--resume with --seed", arguments: ["train", "--resume", "{run}", "--seed", "2"]),
            HostileCase(area: "run directories", name: "--resume with fewer steps than done", arguments: ["train", "--resume", "{run}", "--steps", "10"]),
            HostileCase(area: "run directories", name: "eval of a run without checkpoints", arguments: ["eval", "{run}"],
                        prepare: { try FileManager.default.removeItem(atPath: $0 + "/checkpoints") }),
            HostileCase(area: "faults", name: "TensorBoard log on a full disk", arguments: ["train", "--resume", "{run}"],
                        prepare: { run in
                            let folder = run + "/tensorboard"
                            for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
                                try FileManager.default.removeItem(atPath: folder + "/" + name)
                                try FileManager.default.createSymbolicLink(atPath: folder + "/" + name, withDestinationPath: "/dev/full")
                            }
                        }, progresses: true),
            HostileCase(area: "faults", name: "last checkpoint missing, only a half-written .tmp", arguments: ["train", "--resume", "{run}"],
                        prepare: { run in
                            let last = run + "/checkpoints/last"
                            try FileManager.default.moveItem(atPath: last, toPath: last + ".tmp")
                            try FileManager.default.removeItem(atPath: last + ".tmp/COMPLETE")
                            try FileManager.default.removeItem(atPath: last + ".tmp/state.safetensors")
                        }),
            HostileCase(area: "concurrency", name: "resume while another process holds the run", arguments: ["train", "--resume", "{run}"],
                        prepare: { run in HostileCorpus.heldLocks.append(try RunDirectory(run, mode: .resume)) }),
            HostileCase(area: "run directories", name: "eval --record onto a folder",
                        arguments: ["eval", "{run}", "--record", "{run}/checkpoints"]),
            HostileCase(area: "display", name: "watch without a display", arguments: ["watch", "{run}"],
                        environment: ["DISPLAY": "", "WAYLAND_DISPLAY": "", "SDL_VIDEODRIVER": ""]),
            HostileCase(area: "display", name: "replay without a display", arguments: ["replay", Fixtures.path("../../replays/cartpole-ppo.replay")],
                        environment: ["DISPLAY": "", "WAYLAND_DISPLAY": "", "SDL_VIDEODRIVER": ""]),
        ]
        return cases
    }

    /// Locks held by the test process itself (as another process would hold them).
    nonisolated(unsafe) static var heldLocks: [RunDirectory] = []

    /// Runs one case in fresh folders and classifies what happened.
    func run(_ hostile: HostileCase) throws -> HostileOutcome {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dojo-hostile-\(UUID().uuidString)").path
        let run = scratch + "/run", tmp = scratch + "/out"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch); HostileCorpus.heldLocks.removeAll() }
        try FileManager.default.copyItem(atPath: Self.root + "/run", toPath: run)
        for (inside, file) in hostile.place {
            try? FileManager.default.removeItem(atPath: run + "/" + inside)
            try FileManager.default.copyItem(atPath: file, toPath: run + "/" + inside)
        }
        try hostile.prepare?(run)
        let watched = [run] + (hostile.input.map { [$0] } ?? [])
        let before = watched.map(folderSnapshot)

        let process = Process()
        process.executableURL = binary
        process.arguments = hostile.arguments.map {
            $0.replacingOccurrences(of: "{run}", with: run).replacingOccurrences(of: "{tmp}", with: tmp)
                .replacingOccurrences(of: "{file}", with: hostile.input ?? "")
        }
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in hostile.environment { if value.isEmpty { environment[key] = nil } else { environment[key] = value } }
        process.environment = environment
        let errorPath = scratch + "/stderr"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let started = Date()
        try process.run()
        while process.isRunning && Date().timeIntervalSince(started) < 10 { usleep(10_000) }
        let hung = process.isRunning
        if hung { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        let status = process.terminationStatus
        let changed = zip(watched, before).contains { folderSnapshot($0) != $1 }
        HostileCorpus.heldLocks.removeAll()
        let verdict: HostileOutcome.Verdict
        if hung { verdict = .hang }
        else if process.terminationReason == .uncaughtSignal || status > 123 { verdict = .crash }
        else if status == 0 { verdict = .silentAccept }
        else if changed && !hostile.progresses { verdict = .dataLost }
        else if hostile.progresses, try !resumable(run, checkpointsBefore: before[0]) { verdict = .dataLost }
        else if stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { verdict = .noMessage }
        else { verdict = .clearError }
        return HostileOutcome(status: status, stderr: stderr, verdict: verdict)
    }

    /// Whether `run`'s checkpoints are unchanged and it resumes once the fault (symbolic links to /dev/full) is gone.
    func resumable(_ run: String, checkpointsBefore: [String: Data]) throws -> Bool {
        let now = folderSnapshot(run)
        guard now.filter({ $0.key.hasPrefix("checkpoints/") }) == checkpointsBefore.filter({ $0.key.hasPrefix("checkpoints/") }) else { return false }
        let folder = run + "/tensorboard"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            try FileManager.default.removeItem(atPath: folder + "/" + name)
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["train", "--resume", run]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
