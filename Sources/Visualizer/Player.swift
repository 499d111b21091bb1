import Foundation
import Sim

/// Something to watch: live episodes or a replay, stepped and drawn on request.
public protocol Playable: AnyObject {
    var environmentID: String { get }
    var isReplay: Bool { get }
    /// The episode (or replay) has ended.
    var isOver: Bool { get }
    /// Advances one step; `action` is a person's choice in keyboard play. False when nothing happened.
    func advance(action: Int?) -> Bool
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
        case .singleStep: paused = true; _ = playable.advance(action: nil)
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

#if SDL
/// The interactive loop: poll keys, apply commands, advance at the playback rate, present. Keyboard play advances
/// when an action key arrives (cart-pole, which needs a push every step, repeats the last one). Ends when the
/// window closes, Q/Esc, `episodes` episodes have ended, or after `maxFrames` frames.
public enum Player {
    public struct Outcome: Sendable {
        public var frames = 0, episodes = 0, screenshots: [String] = []
        /// The window was closed (or Q pressed).
        public var closed = false
    }

    /// `screenshotAt`: also save a screenshot after that many frames (scripted captures).
    public static func run(_ playable: Playable, in window: Window, framesPerSecond: Double, keyboard: Bool,
                           episodes: Int?, maxFrames: Int? = nil, screenshotDirectory: String = ".",
                           screenshotAt: Int? = nil) throws -> Outcome {
        var state = PlaybackState(framesPerSecond: framesPerSecond)
        var outcome = Outcome()
        var heldAction: Int?
        let continuous = playable.environmentID == "cartpole"
        var lastStep = Date.distantPast
        while !state.quit && maxFrames.map({ outcome.frames < $0 }) ?? true {
            let (keys, closed) = window.pollKeys()
            if closed { outcome.closed = true; break }
            var screenshot = false
            var chosen: [Int] = []
            for key in keys {
                guard let command = KeyboardMapping.command(for: key, environment: playable.environmentID, playing: keyboard) else { continue }
                if case .action(let a) = command { chosen.append(a); heldAction = a; continue }
                screenshot = state.apply(command, to: playable) || screenshot
            }
            if playable.isOver {
                if !playable.isReplay && Date().timeIntervalSince(lastStep) > 1 {
                    outcome.episodes += 1
                    if let episodes, outcome.episodes >= episodes { break }
                    playable.nextEpisode()
                }
            } else if keyboard {
                // Every action key is one step; cart-pole keeps pushing with the last one.
                let actions = !chosen.isEmpty ? chosen : (continuous && !state.paused ? heldAction.map { [$0] } ?? [] : [])
                for action in actions where !playable.isOver && playable.advance(action: action) { lastStep = Date() }
            } else if !state.paused && Date().timeIntervalSince(lastStep) >= 1 / state.framesPerSecond {
                if playable.advance(action: nil) { lastStep = Date() }
            }
            var frame = playable.frame(status: state.status)
            if state.showHelp {
                HUD.overlay(controlsHelp + (keyboard ? KeyboardMapping.helpLines(for: playable.environmentID) : []), on: &frame)
            }
            window.present(frame)
            outcome.frames += 1
            if screenshot || outcome.frames == screenshotAt {
                // What the window shows, read back from it (scaled and centred as on screen).
                let path = "\(screenshotDirectory)/dojo-\(playable.environmentID)-\(outcome.frames).png"
                try window.readPixels().writePNG(to: path)
                outcome.screenshots.append(path)
            }
            Thread.sleep(forTimeInterval: min(1 / state.framesPerSecond, 1.0 / 60))
        }
        if state.quit { outcome.closed = true }
        return outcome
    }
}
#endif
