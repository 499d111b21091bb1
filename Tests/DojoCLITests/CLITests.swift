import Foundation
import Testing
import TestSupport

/// Runs the built `dojo` binary (beside the test bundle) in `folder` (default: this process's), with `removed`
/// variables taken out of the environment and `added` ones set; returns how it ended, its output (stdout and stderr)
/// and the wall-clock seconds it took. Stops it after `timeout` seconds. `errors`, when given, receives stderr instead,
/// so the output is stdout alone.
func runDojo(_ arguments: [String], removing removed: [String] = [], adding added: [String: String] = [:],
             in folder: String? = nil, timeout: Double = 600,
             errors: FileHandle? = nil) throws -> (status: Int32, signalled: Bool, output: String, seconds: Double) {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dojo")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment.merging(added) { $1 }
    for name in removed { environment.removeValue(forKey: name) }
    process.environment = environment
    if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = errors ?? pipe
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

/// Runs the built `dojo` binary and returns its exit status and output.
func dojo(_ arguments: [String], environment: [String: String] = [:], in folder: String? = nil) throws -> (status: Int32, output: String) {
    let result = try runDojo(arguments, adding: environment, in: folder)
    return (result.status, result.output)
}

@Suite(.serialized) struct CLITests {
    /// `dojo --help` against the committed snapshot (regenerate with DOJO_WRITE_FIXTURES=1).
    @Test func helpSnapshot() throws {
        let (status, output) = try dojo(["--help"])
        #expect(status == 0)
        let path = Fixtures.path("cli/help.txt")
        if ProcessInfo.processInfo.environment["DOJO_WRITE_FIXTURES"] == "1" {
            try output.write(toFile: path, atomically: true, encoding: .utf8)
        }
        #expect(output == (try String(contentsOfFile: path, encoding: .utf8)))
    }

    @Test("Every command has help that teaches (an abstract and an example)")
    func commandHelp() throws {
        for command in ["train", "eval", "compare", "envs", "rollout", "replay", "render"] {
            let (status, output) = try dojo([command, "--help"])
            #expect(status == 0 && output.contains("OVERVIEW:") && output.contains("USAGE:"), "\(command)")
        }
        #expect(try dojo(["train", "--help"]).output.contains("gridworld-memory-drqn"))
    }

    @Test("Bad input: unknown environments, options, presets and flags fail with the valid choices")
    func badInput() throws {
        let unknownEnvironment = try dojo(["rollout", "cartpol"])
        #expect(unknownEnvironment.status != 0 && unknownEnvironment.output.contains("available: cartpole, pendulum, gridworld"))
        let unknownOption = try dojo(["render", "gridworld", "--option", "colour=red", "--out", "/tmp/x.png"])
        #expect(unknownOption.status != 0 && unknownOption.output.contains("its options are: map"))
        let unknownPreset = try dojo(["train", "--preset", "pong-dqn"])
        #expect(unknownPreset.status != 0 && unknownPreset.output.contains("available: gridworld-four-rooms-dqn"))
        let badFlag = try dojo(["train", "--stepz", "5"])
        #expect(badFlag.status != 0 && badFlag.output.contains("Unknown option '--stepz'"))
        let notARun = try dojo(["eval", "/tmp"])
        #expect(notARun.status != 0 && notARun.output.contains("not a Dojo run directory"))
    }

    @Test("rollout --record, then replay --verify; an edited replay fails its digest with exit status 1")
    func rolloutAndReplay() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).replay").path
        let recorded = try dojo(["rollout", "cartpole", "--seed", "4", "--random", "200", "--record", path])
        #expect(recorded.status == 0 && recorded.output.contains("replay written"))
        let verified = try dojo(["replay", path, "--verify"])
        #expect(verified.status == 0 && verified.output.contains("re-simulate bit for bit"))
        var text = try String(contentsOfFile: path, encoding: .utf8)
        // Flip the third action: [[a],[b],[c] → the first "[0]" or "[1]" after two others.
        let actions = try #require(text.range(of: "\"actions\":[["))
        var index = actions.upperBound
        for _ in 0..<2 { index = text[index...].firstIndex(of: "[")!; index = text.index(after: index) }
        let digit = text[index]
        text.replaceSubrange(index...index, with: digit == "0" ? "1" : "0")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let diverged = try dojo(["replay", path, "--verify"])
        #expect(diverged.status == 1 && diverged.output.contains("the digest"))
    }

    @Test("Highway and arm: rollout records a replay that verifies, render writes a PNG",
          arguments: [["highway", "--option", "scenario=merge"], ["highway", "--option", "action=continuous"],
                      ["arm", "--option", "task=push"], ["arm", "--option", "action=discrete", "--option", "links=3"]])
    func highwayAndArmCommands(arguments: [String]) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        let recorded = try dojo(["rollout"] + arguments + ["--seed", "2", "--record", base + ".replay"])
        #expect(recorded.status == 0 && recorded.output.contains("replay written"), "\(recorded.output)")
        let verified = try dojo(["replay", base + ".replay", "--verify"])
        #expect(verified.status == 0 && verified.output.contains("re-simulate bit for bit"), "\(verified.output)")
        let rendered = try dojo(["render"] + arguments + ["--seed", "2", "--out", base + ".png"])
        #expect(rendered.status == 0)
        let png = try Data(contentsOf: URL(fileURLWithPath: base + ".png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 1000)
    }

    @Test("A diverging arm simulation stops the rollout with a clear error and no replay")
    func divergenceError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).replay").path
        let result = try dojo(["rollout", "arm", "--option", "link_masses=0.000001,0.000001", "--option", "torque_limit=1000",
                               "--option", "damping=0", "--option", "substeps=1", "--record", path])
        #expect(result.status != 0 && result.output.contains("diverged") && result.output.contains("substeps"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// A window with no display: SDL's dummy video driver and the software renderer.
    static let headlessWindow = ["SDL_VIDEODRIVER": "dummy", "SDL_RENDER_DRIVER": "software"]

    #if SDL
    @Test("Keyboard play: scripted key presses move the gridworld agent, push the cart and steer the highway car",
          arguments: [("gridworld", ["--option", "map=empty"], "down,down,right,right", "step 4"),
                      ("cartpole", [], "left", "step 2"),  // the push repeats every frame: more steps follow
                      ("highway", ["--option", "scenario=highway-fast"], "up,right,space", "step 3")])
    func keyboardPlay(environment: String, options: [String], keys: String, expected: String) throws {
        let result = try dojo(["watch", environment, "--agent", "keyboard", "--keys", keys, "--max-frames", "3", "--fps", "200"] + options,
                              environment: Self.headlessWindow)
        #expect(result.status == 0, "\(result.output)")
        if environment == "cartpole" {
            let steps = Int(result.output.split(separator: ",").first { $0.hasPrefix(" step ") }?.split(separator: " ").last ?? "") ?? 0
            #expect(steps >= 2, "\(result.output)")
        } else {
            #expect(result.output.contains(expected), "\(result.output)")
        }
        // Without an action key nothing moves in turn-based play (not even a single step); q ends it.
        let idle = try dojo(["watch", "gridworld", "--agent", "keyboard", "--keys", "h,.,h,q", "--max-steps", "3"],
                            environment: Self.headlessWindow)
        #expect(idle.status == 0 && idle.output.contains("step 0"), "\(idle.output)")
    }

    @Test("Screenshots count environment steps and never replace a file: a second one gets a new name")
    func screenshotsNeverOverwrite() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shots-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let precious = Data("not a screenshot".utf8)
        try precious.write(to: URL(fileURLWithPath: folder + "/dojo-cartpole-step2.png"))
        let arguments = ["watch", "cartpole", "--fps", "200", "--max-steps", "4", "--screenshot-at", "2", "--screenshots", folder]
        for _ in 0..<2 {
            let result = try dojo(arguments, environment: Self.headlessWindow)
            #expect(result.status == 0 && result.output.contains("4 steps"), "\(result.output)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/dojo-cartpole-step2.png")) == precious)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files == ["dojo-cartpole-step2-2.png", "dojo-cartpole-step2-3.png", "dojo-cartpole-step2.png"], "\(files)")
        let png = try Data(contentsOf: URL(fileURLWithPath: folder + "/dojo-cartpole-step2-2.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }
    #endif

    @Test("dojo --version prints the version; the training banner lists options sorted as key=value; hints open files with xdg-open")
    func versionBannerAndHints() throws {
        let version = try dojo(["--version"])
        #expect(version.status == 0 && version.output.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, "\(version.output)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("banner-\(UUID().uuidString)").path
        let trained = try dojo(["train", "gridworld", "-o", "max_steps=20", "-o", "map=empty", "-o", "view=5", "--steps", "200",
                                "--set", "learning_starts=100", "--set", "batch_size=8", "--out", directory])
        #expect(trained.status == 0, "\(trained.output)")
        #expect(trained.output.contains("on gridworld map=empty max_steps=20 random_start=true view=5 for 200 steps"), "\(trained.output)")
        #if os(Linux)
        #expect(trained.output.contains("xdg-open \(directory)/learning_curve.png") && !trained.output.contains("  open "), "\(trained.output)")
        #endif
    }

    @Test("Headless video export of a replay produces a valid file (checked with ffprobe when available); frames carry the display")
    func headlessVideo() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        #expect(try dojo(["rollout", "arm", "--seed", "1", "--random", "30", "--record", base + ".replay"]).status == 0)
        let exported = try dojo(["replay", base + ".replay", "--headless", "--frames", base + "-frames", "--video", base + ".mp4"])
        guard ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].contains(where: FileManager.default.isExecutableFile) else {
            #expect(exported.status != 0 && exported.output.contains("ffmpeg is not installed"))
            return
        }
        #expect(exported.status == 0, "\(exported.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: base + "-frames").count == 31)
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        probe.arguments = ["-v", "error", "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", base + ".mp4"]
        let pipe = Pipe()
        probe.standardOutput = pipe
        try probe.run()
        probe.waitUntilExit()
        #expect(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "h264,31")
        let gif = try dojo(["replay", base + ".replay", "--headless", "--video", base + ".gif"])
        let gifData = try Data(contentsOf: URL(fileURLWithPath: base + ".gif"))
        #expect(gif.status == 0 && gifData.starts(with: Array("GIF8".utf8)))
        let bad = try dojo(["replay", base + ".replay", "--headless", "--video", base + ".avi"])
        #expect(bad.status != 0 && bad.output.contains(".mp4 or .gif"))
    }

    @Test("Watching a trained run without a display says what to do instead")
    func noDisplayMessage() throws {
        let result = try dojo(["watch", "cartpole", "--max-frames", "2"], environment: ["SDL_VIDEODRIVER": "nonexistent-driver"])
        #expect(result.status != 0 && result.output.contains("--headless"), "\(result.output)")
    }
}
