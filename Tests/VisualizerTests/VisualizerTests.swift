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
        info.title = "CARTPOLE"; info.action = "LEFT"; info.bars = [("LEFT", 0.7), ("RIGHT", 0.3)]; info.barsTitle = "ACTION PROBABILITIES"
        let composed = HUD.compose(frame, info)
        #expect(composed.width == frame.width && composed.height > frame.height)
        for y in stride(from: 0, to: frame.height, by: 7) {
            for x in stride(from: 0, to: frame.width, by: 7) { #expect(composed.pixel(x: x, y: y) == frame.pixel(x: x, y: y)) }
        }
        // The chosen action's bar is drawn in yellow.
        let panel = (frame.height..<composed.height).flatMap { y in (0..<composed.width).map { composed.pixel(x: $0, y: y) } }
        #expect(panel.contains(.yellow))
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
        #expect(KeyboardMapping.command(for: .up, environment: "gridworld", playing: true) == .action(0))
        #expect(KeyboardMapping.command(for: .left, environment: "highway", playing: true) == .action(4))
        #expect(KeyboardMapping.command(for: .space, environment: "gridworld", playing: true) == .togglePause)
        #expect(KeyboardMapping.command(for: .character("q"), environment: "cartpole", playing: false) == .quit)
        for environment in ["gridworld", "cartpole", "highway"] {  // every mapped key is listed in the help overlay
            #expect(!KeyboardMapping.actions(for: environment).isEmpty && KeyboardMapping.helpLines(for: environment)[0].hasPrefix("PLAY"))
        }
    }
}
#endif
