import Foundation
import Testing
import TestSupport

/// Runs the built `dojo` binary (beside the test bundle) and returns its exit status and output.
func dojo(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dojo")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
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
        for command in ["train", "eval", "envs", "rollout", "replay", "render"] {
            let (status, output) = try dojo([command, "--help"])
            #expect(status == 0 && output.contains("OVERVIEW:") && output.contains("USAGE:"), "\(command)")
        }
        #expect(try dojo(["train", "--help"]).output.contains("gridworld-memory-drqn"))
    }

    @Test("Bad input: unknown environments, options, presets and flags fail with the valid choices")
    func badInput() throws {
        let unknownEnvironment = try dojo(["rollout", "cartpol"])
        #expect(unknownEnvironment.status != 0 && unknownEnvironment.output.contains("available: cartpole, gridworld"))
        let unknownOption = try dojo(["render", "gridworld", "--option", "colour=red", "--out", "/tmp/x.png"])
        #expect(unknownOption.status != 0 && unknownOption.output.contains("its options are: map"))
        let unknownPreset = try dojo(["train", "--preset", "pong-dqn"])
        #expect(unknownPreset.status != 0 && unknownPreset.output.contains("available: gridworld-four-rooms-dqn"))
        let badFlag = try dojo(["train", "--stepz", "5"])
        #expect(badFlag.status != 0 && badFlag.output.contains("Unknown option '--stepz'"))
        let notARun = try dojo(["eval", "/tmp"])
        #expect(notARun.status != 0 && notARun.output.contains("not a Dojo run directory"))
    }

    @Test("rollout --record, then replay --verify; an edited replay is reported divergent with exit status 1")
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
        #expect(diverged.status == 1 && diverged.output.contains("DIVERGED at step 3"))
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
}
