import ArgumentParser
import Environments
import Foundation
import Sim
import Training
import Visualizer

/// A watch session as the visualizer sees it: steps on request, frames with the heads-up display.
final class WatchView: Playable {
    let session: WatchSession
    init(_ session: WatchSession) { self.session = session }

    var environmentID: String { session.environment.id }
    var metadata: EnvironmentMetadata { session.metadata }
    var isReplay: Bool { session.isReplay }
    var isOver: Bool { session.done }
    var stepsTaken: Int { session.stepsTaken }
    func advance(action: Int?) -> Bool { session.advance(action: action) }
    var pendingFrames: Int { session.pendingFrames }
    func showNextFrame() { session.showNextFrame() }
    func skipPendingFrames() { session.skipPendingFrames() }
    func restart() { session.restart() }
    func nextEpisode() { session.nextEpisode() }
    func seek(by delta: Int) { session.seek(to: session.step + delta) }
    func seek(toEnd: Bool) { session.seek(to: toEnd ? session.replayLength : 0) }

    func frame(status: String) -> Canvas {
        let d = session.display
        var info = HUDInfo()
        info.title = d.title; info.episode = d.episode; info.step = d.step; info.reward = d.reward
        info.episodeReturn = d.episodeReturn; info.action = d.action; info.bars = d.bars; info.barsTitle = d.barsTitle
        info.highlighted = d.chosen; info.value = d.value; info.lines = d.lines; info.status = status
        let (frame, attention) = session.currentFrame()
        info.attention = attention
        info.hiddenState = session.hiddenState
        return HUD.compose(frame, info)
    }
}

/// Shared output options: a window, or frames and video written headless.
struct ViewingOptions: ParsableArguments {
    @Flag(help: "No window: write frames (--frames) and/or a video (--video) instead.")
    var headless = false
    @Option(help: "Write PNG frames (000000.png, ...) with the heads-up display into this folder.")
    var frames: String?
    @Option(help: "Write a video (.mp4 or .gif) through ffmpeg.")
    var video: String?
    @Option(help: ArgumentHelp("Playback speed in frames per second (default: the environment's render_fps; the highway shows its simulation frames between decisions, so a decision lasts several frames).", valueName: "fps"))
    var fps: Double?
    @Option(name: [.customLong("max-steps"), .customLong("max-frames")],
            help: ArgumentHelp("Stop once this many environment steps have been shown (scripted and test runs).", valueName: "steps"))
    var maxSteps: Int?
    @Option(help: "Key presses to send at the start, comma-separated (left,right,up,down,space or characters), for scripted play.")
    var keys: String?
    @Option(help: ArgumentHelp("Save a screenshot of the window once this environment step is shown (into --screenshots).", valueName: "step"))
    var screenshotAt: Int?
    @Option(help: "Folder for screenshots (the s key, --screenshot-at); files are named dojo-ENV-stepN.png and never replace one that exists (a second gets -2, -3 …).")
    var screenshots: String = "."

    func framesPerSecond(for metadata: EnvironmentMetadata) -> Double { fps ?? metadata.renderFPS }

    /// The playback speeds `--fps` accepts (frames per second); a video needs a whole number of at least 1.
    static let framesPerSecondRange = 1.0...1000.0

    func validate() throws {
        if headless && frames == nil && video == nil {
            throw ValidationError("--headless needs --frames DIR and/or --video FILE.mp4 (or .gif).")
        }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1 (got \(maxSteps)).") }
        if let screenshotAt, screenshotAt < 0 { throw ValidationError("--screenshot-at must be a step number, 0 or more (got \(screenshotAt)).") }
        if let fps, !(fps.isFinite && Self.framesPerSecondRange.contains(fps)) {
            throw ValidationError("--fps must be a number of frames per second from 1 to 1000, e.g. --fps 30 (got \(fps)).")
        }
        if let video {
            let folder = (video as NSString).deletingLastPathComponent
            try Self.checkWritableFolder(folder.isEmpty ? "." : folder, for: "--video \(video)", create: false)
            if FileManager.default.fileExists(atPath: video) {
                throw ValidationError("--video: '\(video)' already exists, and dojo never overwrites a file; choose a new name or remove it first.")
            }
        }
        if let frames {
            try Self.checkWritableFolder(frames, for: "--frames", create: true)
            let held = ((try? FileManager.default.contentsOfDirectory(atPath: frames)) ?? []).filter { $0.hasSuffix(".png") }
            if !held.isEmpty {
                throw ValidationError("--frames: the folder '\(frames)' already holds \(held.count) PNG file(s) (e.g. \(held.sorted()[0])), "
                                      + "and dojo never overwrites a file; choose a new or empty folder.")
            }
        }
    }

    /// Throws unless `path` is a folder this process can write into, or (with `create`) a folder that can be made:
    /// its nearest existing ancestor is a writable folder.
    static func checkWritableFolder(_ path: String, for option: String, create: Bool) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw ValidationError("\(option): '\(path)' is a file, not a folder; choose a folder.") }
            guard access(path, W_OK | X_OK) == 0 else {
                throw ValidationError("\(option): cannot write into the folder '\(path)' (permission denied); choose another folder.")
            }
            return
        }
        guard create else {
            throw ValidationError("\(option): the folder '\(path)' does not exist; create it first (mkdir -p \(path)) or choose another path.")
        }
        var ancestor = (path as NSString).deletingLastPathComponent
        while !ancestor.isEmpty && !FileManager.default.fileExists(atPath: ancestor, isDirectory: &isFolder) {
            ancestor = (ancestor as NSString).deletingLastPathComponent
        }
        let existing = ancestor.isEmpty ? "." : ancestor
        guard FileManager.default.fileExists(atPath: existing, isDirectory: &isFolder), isFolder.boolValue,
              access(existing, W_OK | X_OK) == 0 else {
            throw ValidationError("\(option): cannot create the folder '\(path)' ('\(existing)' is not a writable folder); choose another path.")
        }
    }
}

/// Runs `view` in a window, or exports it headless; prints what happened.
func present(_ view: WatchView, options: ViewingOptions, keyboard: Bool, episodes: Int) throws {
    if options.headless || options.frames != nil || options.video != nil {
        try export(view, options: options, episodes: episodes)
        return
    }
    #if SDL
    let first = view.frame(status: "")
    let window = try Window(title: "Dojo — \(view.session.title.lowercased())", width: first.width, height: first.height,
                            scale: first.width < 400 ? 2 : 1)
    for key in (options.keys ?? "").split(separator: ",") { Window.pushKey(parseKey(String(key))) }
    let outcome = try Player.run(view, in: window, framesPerSecond: options.framesPerSecond(for: view.metadata),
                                 keyboard: keyboard, episodes: view.isReplay ? nil : episodes, maxSteps: options.maxSteps,
                                 screenshotDirectory: options.screenshots, screenshotAt: options.screenshotAt)
    print("\(view.session.title.lowercased()): \(outcome.steps) steps in \(outcome.frames) frames, episode \(view.session.episode), step \(view.session.step), "
          + "return \(String(format: "%.4f", view.session.episodeReturn))"
          + (outcome.screenshots.isEmpty ? "" : "; screenshots: \(outcome.screenshots.joined(separator: ", "))"))
    #else
    throw WindowError.notCompiled
    #endif
}

func parseKey(_ name: String) -> Key {
    switch name.lowercased() {
    case "left": return .left
    case "right": return .right
    case "up": return .up
    case "down": return .down
    case "space": return .space
    case "enter": return .enter
    case "escape", "esc": return .escape
    default: return .character(name.first ?? " ")
    }
}

/// Headless: steps through `episodes` episodes (or the whole replay, or `--max-steps` steps) and writes every frame,
/// the simulation frames between decisions included, as PNGs and/or a video at the environment's frame rate.
func export(_ view: WatchView, options: ViewingOptions, episodes: Int) throws {
    if let frames = options.frames { try FileManager.default.createDirectory(atPath: frames, withIntermediateDirectories: true) }
    let writer = try options.video.map { try VideoWriter(path: $0, framesPerSecond: Int(options.framesPerSecond(for: view.metadata).rounded())) }
    var count = 0, finished = 0
    let firstStep = view.stepsTaken
    func emit() throws {
        let frame = view.frame(status: "")
        if let frames = options.frames { try frame.writePNG(to: "\(frames)/\(String(format: "%06d", count)).png") }
        try writer?.append(frame)
        count += 1
    }
    try emit()
    while true {
        if view.pendingFrames > 0 {
            view.showNextFrame()
        } else if let maxSteps = options.maxSteps, view.stepsTaken - firstStep >= maxSteps {
            break
        } else if view.isOver {
            finished += 1
            if view.isReplay || finished >= episodes { break }
            view.nextEpisode()
        } else if !view.advance(action: nil) {
            break
        }
        try emit()
    }
    try writer?.finish()
    print("wrote \(count) frames of \(view.stepsTaken - firstStep) steps" + (options.frames.map { " to \($0)" } ?? "")
          + (options.video.map { "; video \($0)" } ?? ""))
}

/// Keyboard play per environment, from each one's metadata (default options), one line each for `dojo watch --help`.
func keyboardPlayHelp() -> String {
    EnvironmentRegistry.entries.compactMap { entry -> String? in
        guard let metadata = try? entry.make([:]).metadata, !metadata.keyboard.isEmpty else { return nil }
        let keys = metadata.keyboard.map { "\($0.key.name.lowercased()) \($0.help)" }.joined(separator: ", ")
        return "  \(entry.id.padding(toLength: 10, withPad: " ", startingAt: 0)) \(keys)"
            + (metadata.keyboardRepeatsLastAction ? " (the last key repeats)" : "")
    }.joined(separator: "\n")
}

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch a trained agent, random play or your own, in a window or exported headless.",
        discussion: """
            RUN is a run directory (dojo train's --out): its best checkpoint plays greedily. The heads-up display shows \
            the action taken beside the Q-values or action probabilities (and value estimate) of the state it was \
            chosen in. An environment id plays with --agent random or --agent keyboard (you play):
            \(keyboardPlayHelp())
            Controls: space pause, . single step, +/- speed, r restart, s screenshot, h help, q or Esc quit.
            --max-steps and --screenshot-at count environment steps; the highway draws its simulation frames between \
            decisions (15 frames a second, one decision a second by default), in windows and videos alike.
            Without a display (or a build without SDL2) use --headless with --frames DIR and/or --video FILE.mp4.

            Examples:
              dojo watch runs/gridworld-four-rooms-dqn-seed0
              dojo watch highway --agent keyboard
              dojo watch runs/cartpole-ppo-seed0 --headless --video cartpole.mp4 --episodes 2
            """)

    @Argument(help: "A run directory, or an environment id (with --agent random|keyboard).")
    var target: String
    @Option(help: "For an environment id: random or keyboard.")
    var agent: String = "random"
    @Option(name: [.customLong("option"), .customShort("o")], help: ArgumentHelp("Environment option key=value (repeatable).", valueName: "key=value"))
    var options: [String] = []
    @Option(help: "Seed of the first episode (the next ones follow).")
    var seed: UInt64 = 0
    @Option(help: "Episodes to play.")
    var episodes: Int = 3
    @Option(help: "Checkpoint of a run: best or last.")
    var checkpoint: String = "best"
    @OptionGroup var viewing: ViewingOptions

    func validate() throws {
        guard ["random", "keyboard"].contains(agent) else { throw ValidationError("--agent is random or keyboard (got \(agent)).") }
        guard episodes >= 1 else { throw ValidationError("--episodes must be at least 1.") }
    }

    func run() throws {
        let session: WatchSession
        let keyboard: Bool
        if FileManager.default.fileExists(atPath: target + "/config.json") {
            session = try WatchSession(driver: .trained(try TrainedRun(directory: target, checkpoint: checkpoint)), seed: seed)
            keyboard = false
        } else {
            keyboard = agent == "keyboard"
            guard !keyboard || !(viewing.headless || viewing.frames != nil || viewing.video != nil) else {
                throw ValidationError("keyboard play needs the window; drop --headless/--frames/--video.")
            }
            session = try WatchSession(driver: keyboard ? .keyboard : .random, environment: target,
                                       options: try parseOptionAssignments(options), seed: seed)
        }
        try present(WatchView(session), options: viewing, keyboard: keyboard, episodes: episodes)
    }
}
