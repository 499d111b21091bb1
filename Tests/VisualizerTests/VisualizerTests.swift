import Environments
import Foundation
import Sim
import Testing
import TestSupport
@testable import Visualizer
#if SDL
import CSDL2
#endif

@Suite struct HUDTests {
    @Test("The heads-up display keeps the frame intact above a panel with the bars")
    func composition() throws {
        let env = try EnvironmentRegistry.make("cartpole")
        _ = env.reset(seed: 1)
        let frame = env.renderFrame()
        var info = HUDInfo()
        info.title = "CARTPOLE"; info.action = "RIGHT"; info.bars = [("LEFT", 0.7), ("RIGHT", 0.3)]; info.barsTitle = "ACTION PROBABILITIES"
        info.highlighted = 1
        let composed = HUD.compose(frame, info)
        #expect(composed.width == frame.width && composed.height > frame.height)
        for y in stride(from: 0, to: frame.height, by: 7) {
            for x in stride(from: 0, to: frame.width, by: 7) { #expect(composed.pixel(x: x, y: y) == frame.pixel(x: x, y: y)) }
        }
        // The action taken is drawn in yellow, and only it.
        #expect(HUDTests.yellowBars(composed, frameHeight: frame.height, bars: 2) == [1])
        info.highlighted = nil
        #expect(HUDTests.yellowBars(HUD.compose(frame, info), frameHeight: frame.height, bars: 2) == [])
    }

    /// The rows of the bars drawn in yellow in a composed frame (the bar starts 40 pixels right of the panel's middle).
    static func yellowBars(_ composed: Canvas, frameHeight: Int, bars: Int) -> [Int] {
        let left = composed.width / 2 + 4 + 40, top = frameHeight + 6 + HUD.lineHeight
        return (0..<bars).filter { composed.pixel(x: left, y: top + $0 * HUD.lineHeight + 2) == .yellow }
    }
}

#if SDL
/// Real SDL windows with the dummy video driver and the software renderer (no display needed); the offscreen
/// driver and Xvfb are tried when present.
@Suite(.serialized) struct WindowTests {
    init() {
        setenv("SDL_VIDEODRIVER", ProcessInfo.processInfo.environment["DOJO_TEST_VIDEODRIVER"] ?? "dummy", 1)
        setenv("SDL_RENDER_DRIVER", "software", 1)
    }

    @Test("A frame presented in the window reads back pixel for pixel, also at a whole-number scale", arguments: [1, 2])
    func pixelsReadBack(scale: Int) throws {
        let env = try EnvironmentRegistry.make("gridworld", options: ["map": "four-rooms"])
        _ = env.reset(seed: 3)
        let frame = env.renderFrame()
        let window = try Window(title: "test", width: frame.width, height: frame.height, scale: scale)
        window.present(frame)
        let shown = window.readPixels()
        let (s, x0, y0) = window.placement(of: frame)
        #expect(s == scale)
        var mismatches = 0
        for y in 0..<frame.height {
            for x in 0..<frame.width {
                let expected = frame.pixel(x: x, y: y)
                for dy in 0..<s { for dx in 0..<s where shown.pixel(x: x0 + x * s + dx, y: y0 + y * s + dy) != expected { mismatches += 1 } }
            }
        }
        #expect(mismatches == 0, "\(mismatches) pixels differ")
    }

    @Test("Pushed key events arrive as keys and map to commands and keyboard actions")
    func keyEvents() throws {
        let window = try Window(title: "keys", width: 64, height: 48)
        _ = window.pollKeys()
        for key: Key in [.up, .left, .space, .character("q")] { Window.pushKey(key) }
        let (keys, closed) = window.pollKeys()
        #expect(keys == [.up, .left, .space, .character("q")] && !closed)
        let gridworld = try EnvironmentRegistry.make("gridworld").metadata.keyboard
        let highway = try EnvironmentRegistry.make("highway").metadata.keyboard
        #expect(KeyboardMapping.command(for: .up, keyboard: gridworld, playing: true) == .action(0))
        #expect(KeyboardMapping.command(for: .left, keyboard: highway, playing: true) == .action(4))
        #expect(KeyboardMapping.command(for: .space, keyboard: gridworld, playing: true) == .togglePause)
        #expect(KeyboardMapping.command(for: .left, keyboard: gridworld, playing: false) == .seekBack)
        #expect(KeyboardMapping.command(for: .character("q"), keyboard: [], playing: false) == .quit)
        for entry in EnvironmentRegistry.entries {  // every mapped key is listed in the help overlay
            let metadata = try entry.make([:]).metadata
            let help = KeyboardMapping.helpLines(for: metadata)
            #expect(metadata.keyboard.allSatisfy { binding in help.contains { $0.contains(binding.key.name) } }, "\(entry.id)")
        }
    }
}
#endif
