import Foundation
import Testing

/// Runs the built `dojo` binary with `removed` variables taken out of the environment and `added` ones set; returns
/// how it ended, its output and the wall-clock seconds it took. Stops it after `timeout` seconds.
func runDojo(_ arguments: [String], removing removed: [String] = [], adding added: [String: String] = [:],
             timeout: Double = 60) throws -> (status: Int32, signalled: Bool, output: String, seconds: Double) {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dojo")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment.merging(added) { $1 }
    for name in removed { environment.removeValue(forKey: name) }
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let start = Date()
    try process.run()
    let watchdog = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    watchdog.cancel()
    return (process.terminationStatus, process.terminationReason == .uncaughtSignal,
            String(decoding: data, as: UTF8.self), Date().timeIntervalSince(start))
}

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
        #expect(result.output.contains("3 frames"), "\(result.output)")
    }
    #endif
}
