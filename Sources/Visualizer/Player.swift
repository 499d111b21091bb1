import Foundation
import Sim

/// Something to watch: live episodes or a replay, stepped and drawn on request. A step of an environment that draws
/// several simulation frames per decision (``EnvironmentMetadata/framesPerStep``) leaves frames pending, shown one
/// per tick before the next step.
public protocol Playable: AnyObject {
    var environmentID: String { get }
    /// The environment's self-description: keyboard play, frame rate, frames per step.
    var metadata: EnvironmentMetadata { get }
    var isReplay: Bool { get }
    /// The episode (or replay) has ended.
    var isOver: Bool { get }
    /// Environment steps taken by `advance` since the start, over all episodes (seeking does not count).
    var stepsTaken: Int { get }
    /// Advances one step; `action` is a person's choice in keyboard play. False when nothing happened.
    func advance(action: Int?) -> Bool
    /// Simulation frames of the last step not shown yet; the frame shown is the first of them, or the state after the
    /// step when there are none.
    var pendingFrames: Int { get }
    /// Shows the next pending frame.
    func showNextFrame()
    /// Drops the pending frames (shows the state after the step).
    func skipPendingFrames()
    func restart()
    func nextEpisode()
    /// Replays: moves `delta` steps (negative: back), or to the start / end.
    func seek(by delta: Int)
    func seek(toEnd: Bool)
    /// The frame to show, heads-up display included.
    func frame(status: String) -> Canvas
}

/// Playback controls and timing shared by the window and headless export.
public struct PlaybackState: Sendable {
    public var paused = false
    public var framesPerSecond: Double
    public var showHelp = false
    public var quit = false
    public init(framesPerSecond: Double) { self.framesPerSecond = framesPerSecond }

    public var status: String { paused ? "PAUSED" : String(format: "%.0f FPS", framesPerSecond) }

    /// Applies a playback command to `playable`; returns a screenshot request.
    public mutating func apply(_ command: Command, to playable: Playable) -> Bool {
        switch command {
        case .quit: quit = true
        case .togglePause: paused.toggle()
        case .singleStep:
            // One whole environment step: the rest of the current one, or the next one.
            paused = true
            if playable.pendingFrames > 0 { playable.skipPendingFrames() } else if playable.advance(action: nil) { playable.skipPendingFrames() }
        case .faster: framesPerSecond = min(framesPerSecond * 2, 240)
        case .slower: framesPerSecond = max(framesPerSecond / 2, 0.5)
        case .restart: playable.restart()
        case .seekForward: playable.seek(by: 10)
        case .seekBack: playable.seek(by: -10)
        case .jumpStart: playable.seek(toEnd: false)
        case .jumpEnd: playable.seek(toEnd: true)
        case .toggleHelp: showHelp.toggle()
        case .screenshot: return true
        case .action: break
        }
        return false
    }
}

/// Screenshot files: `dojo-<environment>-step<N>.png` in `directory`, or `…-2.png`, `…-3.png` when taken: a file that
/// exists is never replaced (created with O_EXCL, so not even by a race with another process).
public enum ScreenshotFile {
    public static func write(_ canvas: Canvas, directory: String, environment: String, step: Int) throws -> String {
        let base = "\(directory)/dojo-\(environment)-step\(step)"
        let data = canvas.pngData()
        for index in 1...10_000 {
            let path = index == 1 ? base + ".png" : "\(base)-\(index).png"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if descriptor < 0 {
                if errno == EEXIST { continue }
                throw ScreenshotError(path: path, reason: String(cString: strerror(errno)))
            }
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            do { try handle.write(contentsOf: data) } catch {
                try? FileManager.default.removeItem(atPath: path)
                throw ScreenshotError(path: path, reason: error.localizedDescription)
            }
            return path
        }
        throw ScreenshotError(path: base + ".png", reason: "10,000 screenshots of this step exist already; choose another --screenshots folder")
    }
}

public struct ScreenshotError: Error, CustomStringConvertible {
    public let path: String, reason: String
    public var description: String { "cannot write the screenshot \(path): \(reason); choose another folder with --screenshots" }
}

#if SDL
/// The interactive loop: poll keys, apply commands, show the next frame or advance at the playback rate, present.
/// Keyboard play advances when an action key arrives (an environment whose keyboard repeats the last action, such as
/// cart-pole, keeps stepping with it at the frame rate). Ends when the window closes, Q/Esc, `episodes` episodes have
/// ended, or once `maxSteps` environment steps have been shown (or, with `maxSteps`, the replay's end).
public enum Player {
    public struct Outcome: Sendable {
        /// Frames presented, and environment steps taken.
        public var frames = 0, steps = 0, episodes = 0, screenshots: [String] = []
        /// The window was closed (or Q pressed).
        public var closed = false
    }

    /// `screenshotAt`: also save a screenshot once environment step `screenshotAt` is shown (scripted captures).
    public static func run(_ playable: Playable, in window: Window, framesPerSecond: Double, keyboard: Bool,
                           episodes: Int?, maxSteps: Int? = nil, screenshotDirectory: String = ".",
                           screenshotAt: Int? = nil) throws -> Outcome {
        var state = PlaybackState(framesPerSecond: framesPerSecond)
        var outcome = Outcome()
        var heldAction: Int?
        let metadata = playable.metadata
        let firstStep = playable.stepsTaken
        var lastTick = Date.distantPast
        var screenshotTaken = false
        while !state.quit {
            let (keys, closed) = window.pollKeys()
            if closed { outcome.closed = true; break }
            var screenshot = false
            var chosen: [Int] = []
            for key in keys {
                guard let command = KeyboardMapping.command(for: key, keyboard: metadata.keyboard, playing: keyboard) else { continue }
                if case .action(let a) = command { chosen.append(a); heldAction = a; continue }
                screenshot = state.apply(command, to: playable) || screenshot
            }
            let due = !state.paused && Date().timeIntervalSince(lastTick) >= 1 / state.framesPerSecond
            if keyboard && !chosen.isEmpty {
                // Every action key is one step; the frames of a step still showing are cut short.
                for action in chosen where !playable.isOver {
                    playable.skipPendingFrames()
                    if playable.advance(action: action) { lastTick = Date() }
                }
            } else if playable.pendingFrames > 0 {
                if due { playable.showNextFrame(); lastTick = Date() }
            } else if playable.isOver {
                // The episode's last frame stays on screen for a second.
                if !playable.isReplay && Date().timeIntervalSince(lastTick) > 1 {
                    outcome.episodes += 1
                    if let episodes, outcome.episodes >= episodes { break }
                    playable.nextEpisode()
                }
            } else if keyboard {
                if metadata.keyboardRepeatsLastAction, due, let heldAction, playable.advance(action: heldAction) { lastTick = Date() }
            } else if due {
                if playable.advance(action: nil) { lastTick = Date() }
            }
            outcome.steps = playable.stepsTaken - firstStep
            var frame = playable.frame(status: state.status)
            if state.showHelp {
                HUD.overlay(controlsHelp + (keyboard ? KeyboardMapping.helpLines(for: metadata) : []), on: &frame)
            }
            window.present(frame)
            outcome.frames += 1
            // Scripted captures and limits count environment steps, each once its last frame is on screen.
            let stepShown = playable.pendingFrames == 0
            if let screenshotAt, !screenshotTaken, stepShown, outcome.steps >= screenshotAt {
                screenshot = true
                screenshotTaken = true
            }
            if screenshot {
                // What the window shows, read back from it (scaled and centred as on screen).
                outcome.screenshots.append(try ScreenshotFile.write(window.readPixels(), directory: screenshotDirectory,
                                                                    environment: playable.environmentID, step: outcome.steps))
            }
            if let maxSteps, stepShown, outcome.steps >= maxSteps || (playable.isReplay && playable.isOver) { break }
            Thread.sleep(forTimeInterval: min(1 / state.framesPerSecond, 1.0 / 60))
        }
        if state.quit { outcome.closed = true }
        return outcome
    }
}
#endif
