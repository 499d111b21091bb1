import ArgumentParser
import Environments
import Foundation
import Sim
import Training
import Visualizer

/// Options that pick and configure an environment.
struct EnvironmentOptions: ParsableArguments {
    @Argument(help: "Environment id (see `dojo envs`).")
    var environment: String

    @Option(name: [.customLong("option"), .customShort("o")],
            help: ArgumentHelp("Environment option key=value, repeatable (e.g. map=mymap.txt, view=7, state=0,0,0.1,0).",
                               valueName: "key=value"))
    var options: [String] = []

    @Option(help: "Seed for reset.")
    var seed: UInt64 = 0

    func make() throws -> any Environment {
        try EnvironmentRegistry.make(environment, options: parseOptionAssignments(options))
    }
}

struct Envs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the environments with their spaces and options.",
        discussion: "Options are passed to train, rollout, render and watch as --option key=value.")

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        var report: [[String: Any]] = []
        for entry in EnvironmentRegistry.entries {
            let env = try entry.make([:])
            let metadata = env.metadata
            if json {
                report.append(["id": entry.id, "summary": entry.summary,
                               "observation_space": env.observationSpace.description,
                               "action_space": env.actionSpace.description,
                               "metadata": ["action_names": metadata.actionNames, "render_fps": metadata.renderFPS,
                                            "frames_per_step": metadata.framesPerStep,
                                            "render_size": [env.renderSize.width, env.renderSize.height],
                                            "keyboard": metadata.keyboard.map { ["key": $0.key.name.lowercased(), "action": $0.action, "help": $0.help] },
                                            "metrics": metadata.metrics.map { ["name": $0.name, "info": $0.info, "aggregation": $0.aggregation.rawValue,
                                                                               "unit": $0.unit] }],
                               "options": entry.optionSpecs.map { ["name": $0.name, "default": $0.defaultValue,
                                                                  "accepts": $0.accepted, "summary": $0.summary] }])
                continue
            }
            print("\(entry.id) — \(entry.summary)")
            print("  observation: \(env.observationSpace) (default options)")
            print("  action:      \(env.actionSpace)" + (metadata.actionNames.isEmpty ? "" : ": " + metadata.actionNames.joined(separator: ", ")))
            print("  shown at:    \(env.renderSize.width)×\(env.renderSize.height) pixels, \(String(format: "%g", metadata.renderFPS)) frames/s"
                  + (metadata.framesPerStep > 1 ? ", \(metadata.framesPerStep) simulation frames per step" : ""))
            if !metadata.metrics.isEmpty {
                print("  evaluation:  " + metadata.metrics.map { "\($0.name) (info \($0.info), \($0.aggregation.rawValue.replacingOccurrences(of: "_", with: " ")))" }
                    .joined(separator: ", "))
            }
            print("  options:")
            for spec in entry.optionSpecs {
                let value = spec.defaultValue.isEmpty ? "unset" : spec.defaultValue
                print("    \(pad(spec.name, 20)) default \(pad(value, 11)) \(spec.summary) [\(spec.accepted)]")
            }
            print()
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("Example: dojo rollout gridworld --option map=key-door --random 50 --json")
        }
    }
}

struct Rollout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one episode with given or random actions; print it or record a replay.",
        discussion: """
            Actions come from --actions FILE (one action per line, numbers separated by commas or spaces, # comments) \
            or are random (--random N caps the episode at N steps). With --json, one JSON line per step:
            {"step": k, "action": [...], "observation": [...], "reward": r, "terminated": b, "truncated": b}
            (step 0 is the observation after reset).
            Example: dojo rollout cartpole --option state=0,0,0.05,0 --actions pushes.txt --json
            """)

    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "File of actions, one per line.")
    var actions: String?
    @Option(help: "Take random actions, at most N steps (default: until the episode ends).")
    var random: Int?
    @Flag(help: "Print one JSON line per step.")
    var json = false
    @Option(help: "Write the episode as a replay file (see docs/replay-format.md).")
    var record: String?
    @Flag(help: "Keep observations in the replay.")
    var recordObservations = false

    func validate() throws {
        if actions != nil && random != nil { throw ValidationError("give --actions FILE or --random N, not both.") }
        if let random, random < 1 { throw ValidationError("--random needs a positive step count (got \(random)).") }
    }

    func run() throws {
        let env = try environment.make()
        let scripted = try actions.map { try readActions($0, width: env.actionSpace.actionWidth, space: env.actionSpace) }
        var observation = env.reset(seed: environment.seed)
        var recorder = ReplayRecorder(environment: env, seed: environment.seed,
                                      observation: recordObservations ? observation : nil,
                                      metadata: ["recorded_by": "dojo rollout", "policy": scripted == nil ? "random" : "scripted"])
        if json { try printJSON(["step": 0, "observation": observation], step: 0) }
        var rng = SeededGenerator(seed: environment.seed, stream: 7)
        var action = [Float](repeating: 0, count: env.actionSpace.actionWidth)
        var total = 0.0, steps = 0, last = StepResult(reward: 0, terminated: false)
        let limit = scripted?.count ?? random ?? Int.max
        while steps < limit {
            if let scripted { action = scripted[steps] } else { env.actionSpace.sample(into: &action, using: &rng) }
            let outcome = env.step(action)
            observation = outcome.observation
            last = outcome.result
            steps += 1
            total += Double(last.reward)
            recorder.record(action: action, result: last, environment: env, observation: recordObservations ? observation : nil)
            if json {
                try printJSON(["step": steps, "action": action, "observation": observation, "reward": last.reward,
                           "terminated": last.terminated, "truncated": last.truncated], step: steps)
            }
            if last.done { break }
        }
        if let failure = env.failure { throw failure }
        if let record {
            var replay = recorder.replay
            replay.metadata["return"] = String(total)
            // File options (a gridworld map) are stored relative to the replay's folder, where `dojo replay` looks.
            replay.options = OptionPaths.relative(replay.options, specs: try EnvironmentRegistry.entry(env.id).optionSpecs,
                                                  workingFolder: FileManager.default.currentDirectoryPath,
                                                  to: Replay.folder(of: record))
            try replay.write(to: record)
        }
        if !json {
            let end = last.terminated ? "terminated" : (last.truncated ? "truncated" : "stopped (step limit)")
            print("\(env.id): \(steps) steps, return \(String(format: "%.4f", total)), \(end)"
                  + (record.map { "; replay written to \($0) (check it: dojo replay \($0) --verify)" } ?? ""))
        }
    }
}

/// Reads an actions file: one action per line, `width` numbers each, each inside `space`.
func readActions(_ path: String, width: Int, space: Space) throws -> [[Float]] {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw ValidationError("\(path): cannot read the actions file (\(error.localizedDescription)).")
    }
    var actions: [[Float]] = []
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let fields = line.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" })
        if fields.isEmpty { continue }
        let values = fields.compactMap { Float($0) }
        guard values.count == fields.count, values.count == width else {
            throw ValidationError("\(quotedForMessage(path, limit: 400)):\(index + 1): expected \(width) number(s) per action, "
                                  + "got '\(quotedForMessage(String(line)))'.")
        }
        if let problem = space.validate(action: values) {
            throw ValidationError("\(quotedForMessage(path, limit: 400)):\(index + 1): action \(values.prefix(8)) is outside the action space: \(problem).")
        }
        actions.append(values)
    }
    return actions
}

/// A step whose numbers JSON cannot hold (exit status 1, not a usage error).
struct NonFiniteOutput: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints `object` as one JSON line. Non-finite numbers (which JSON cannot hold) are a typed error naming `step`.
func printJSON(_ object: [String: Any], step: Int) throws {
    let numbers = object.values.flatMap { value -> [Double] in
        if let list = value as? [Float] { return list.map(Double.init) }
        if let number = value as? Float { return [Double(number)] }
        if let number = value as? Double { return [number] }
        return []
    }
    guard numbers.allSatisfy(\.isFinite), let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
        throw NonFiniteOutput("step \(step): the observation holds a value floats cannot represent (infinite or not a number), "
                              + "so it cannot be written as JSON; start from a smaller state or take fewer steps.")
    }
    print(String(decoding: data, as: UTF8.self))
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Play, verify or export a recorded replay.",
        discussion: """
            With no flags the replay plays in a window: space pauses, . steps, right/left seek 10 steps, \
            Home/End jump to the start/end, +/- change the speed, s saves a screenshot, q quits.
            --verify re-simulates the episode from its environment, options, seed and actions and checks every \
            action against the action space, every reward, state checksum and stored observation, and how the episode \
            ends; it reports the first step that differs (exit code 1). Files carry a digest, so edits are refused.
            --upgrade NEW re-simulates a version 1 replay and, if every step verifies, writes it as version 2.
            Relative map paths in a replay are taken in the replay's folder.
            --headless with --frames DIR writes one PNG per step (heads-up display included), --video FILE.mp4|.gif \
            a video through ffmpeg.
            Examples: dojo replay replays/highway-attention-ppo.replay
                      dojo replay run.replay --verify
                      dojo replay run.replay --headless --video run.mp4
            """)

    @Argument(help: "A replay file.")
    var file: String
    @Flag(help: "Re-simulate and check every step.")
    var verify = false
    @Option(help: ArgumentHelp("Re-simulate a replay (version 1 or 2) and write it as the current version.", valueName: "new-file"))
    var upgrade: String?
    @OptionGroup var viewing: ViewingOptions

    func run() throws {
        let folder = Replay.folder(of: file)
        if let upgrade {
            let replay = try Replay.upgrade(from: file, folder: folder)
            try replay.write(to: upgrade)
            print("\(quotedForMessage(file, limit: 400)): re-simulated all \(replay.stepCount) steps; wrote version \(replay.version) to "
                  + "\(quotedForMessage(upgrade, limit: 400))")
            return
        }
        let replay = try Replay.read(from: file)
        let env = try EnvironmentRegistry.make(for: replay, folder: folder)
        let end = replay.terminated ? "terminated" : (replay.truncated ? "truncated" : "stopped")
        print("\(quotedForMessage(file, limit: 400)): \(replay.env), seed \(replay.seed), \(replay.stepCount) steps, return "
              + "\(String(format: "%.4f", replay.totalReward)), \(end)")
        // Played or checked, a replay is re-simulated first: what it shows is what it states, or nothing.
        switch replay.verify(on: env) {
        case .identical(let steps):
            if verify { print("verified: all \(steps) steps re-simulate bit for bit") }
        case .diverged(let step, let detail):
            throw ReplayError.malformed(path: file, detail: "DIVERGED at step \(step): \(detail)")
        case .invalid(let detail):
            throw ReplayError.malformed(path: file, detail: detail)
        }
        if verify && viewing.frames == nil && viewing.video == nil { return }
        // Without a display the summary above is printed, then the window's error (exit status 1).
        let view = WatchView(try WatchSession(driver: .replay(replay, folder: folder)))
        try present(view, options: viewing, keyboard: false, episodes: 1)
    }
}

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render the first frame of an environment to a PNG.",
        discussion: "Example: dojo render gridworld --option map=key-door --out keydoor.png")

    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Output PNG path.")
    var out: String

    func run() throws {
        let env = try environment.make()
        _ = env.reset(seed: environment.seed)
        if let problem = Canvas.sizeProblem(width: env.renderSize.width, height: env.renderSize.height) {
            throw ValidationError("\(env.id): \(problem); render a smaller map or scene.")
        }
        let frame = env.renderFrame()
        try frame.writePNG(to: out)
        print("wrote \(frame.width)×\(frame.height) frame to \(out)")
    }
}
