import Foundation
import Testing

/// The variables by which SDL finds a display, or is told to use a driver.
let displayVariables = ["DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"]

@Suite(.serialized) struct DisplayCLITests {
    @Test("With no display, window modes fail within a second and suggest --headless",
          arguments: ["watch", "replay"])
    func noDisplayFailsFast(command: String) throws {
        var arguments = ["watch", "cartpole", "--max-frames", "100"]
        if command == "replay" {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).replay").path
            let recorded = try runDojo(["rollout", "cartpole", "--seed", "1", "--random", "200", "--record", path])
            try #require(recorded.status == 0, "\(recorded.output)")
            arguments = ["replay", path, "--max-frames", "100"]
        }
        let result = try runDojo(arguments, removing: displayVariables, timeout: 20)
        #expect(result.status != 0 && !result.signalled, "\(result.output)")
        #expect(result.seconds < 1, "took \(result.seconds) s")
        #expect(result.output.contains("--headless"), "\(result.output)")
    }

    #if SDL
    @Test("Asking for SDL's offscreen driver explicitly still opens a window that shows nothing")
    func explicitOffscreenDriver() throws {
        let result = try runDojo(["watch", "cartpole", "--max-frames", "3", "--fps", "200"], removing: ["DISPLAY", "WAYLAND_DISPLAY"],
                                 adding: ["SDL_VIDEODRIVER": "offscreen"], timeout: 20)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("3 steps"), "\(result.output)")
    }
    #endif
}
