import Foundation
import Testing
import TestSupport

func scratchFolder(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("dojo-cli-\(name)-\(UUID().uuidString)").path
}

/// Issue 11, findings 2, 3 and 10: run directories are owned. An existing run or a non-empty folder is never written
/// into, a second process on a run is refused, and `--resume` changes nothing but the budget.
@Suite(.serialized) struct RunDirectoryCLITests {
    let smallRun = ["train", "cartpole", "--steps", "600", "--set", "learning_starts=100", "--set", "batch_size=16"]

    @Test("--out at an existing run or a folder with files refuses and changes nothing")
    func outNeverOverwrites() throws {
        let run = scratchFolder("run")
        #expect(try dojo(smallRun + ["--out", run]).status == 0)
        let before = folderSnapshot(run)
        #expect(before["config.json"] != nil && before["checkpoints/last/model.safetensors"] != nil)
        let again = try dojo(smallRun + ["--seed", "2", "--out", run])
        #expect(again.status != 0 && again.output.contains("already holds a run") && again.output.contains("--resume"), "\(again.output)")
        #expect(folderSnapshot(run) == before)

        let userFolder = scratchFolder("user")
        try FileManager.default.createDirectory(atPath: userFolder, withIntermediateDirectories: true)
        try Data("{\"mine\": true}".utf8).write(to: URL(fileURLWithPath: userFolder + "/config.json"))
        try Data("a,b\n1,2\n".utf8).write(to: URL(fileURLWithPath: userFolder + "/notes.csv"))
        let userBefore = folderSnapshot(userFolder)
        let intoUser = try dojo(smallRun + ["--out", userFolder])
        #expect(intoUser.status != 0 && intoUser.output.contains("is not empty"), "\(intoUser.output)")
        #expect(folderSnapshot(userFolder) == userBefore)

        let emptyFolder = scratchFolder("empty")
        try FileManager.default.createDirectory(atPath: emptyFolder, withIntermediateDirectories: true)
        #expect(try dojo(smallRun + ["--out", emptyFolder]).status == 0)
    }

    @Test("A second process on a run being trained is refused, naming the holder; the first finishes intact")
    func secondProcessRefused() throws {
        let run = scratchFolder("busy")
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dojo")
        let first = Process()
        first.executableURL = executable
        first.arguments = ["train", "cartpole", "--steps", "5000000", "--out", run]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { first.terminate() } }
        // Wait until the first process holds the lock and has written its config.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !FileManager.default.fileExists(atPath: run + "/config.json") { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: run + "/config.json"))
        let sameOut = try dojo(["train", "cartpole", "--steps", "1000", "--seed", "2", "--out", run])
        #expect(sameOut.status != 0 && sameOut.output.contains("in use by another Dojo process")
                && sameOut.output.contains("process \(first.processIdentifier)"), "\(sameOut.output)")
        let resume = try dojo(["train", "--resume", run])
        #expect(resume.status != 0 && resume.output.contains("in use by another Dojo process"), "\(resume.output)")
        let config = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        #expect(config.contains("\"seed\" : 0") && config.contains("5000000"))
        // Ctrl-C: the first process saves a resumable checkpoint and releases the run.
        first.interrupt()
        first.waitUntilExit()
        #expect(first.terminationStatus == 130)
        let resumed = try dojo(["train", "--resume", run, "--steps", "3000"])
        #expect(resumed.status == 0, "\(resumed.output)")
    }

    @Test("--resume refuses flags that would change the run; --steps below the step reached says what to pass")
    func resumeFlags() throws {
        let run = scratchFolder("resume")
        #expect(try dojo(smallRun + ["--out", run]).status == 0)
        let before = folderSnapshot(run)
        for flags in [["--seed", "3"], ["--set", "gamma=0.9"], ["--option", "velocity=false"], ["--envs", "4"], ["--preset", "cartpole-ppo"]] {
            let result = try dojo(["train", "--resume", run] + flags)
            #expect(result.status != 0 && result.output.contains("cannot change it") && result.output.contains(flags[0]),
                    "\(flags): \(result.output)")
        }
        let shorter = try dojo(["train", "--resume", run, "--steps", "300"])
        #expect(shorter.status != 0 && shorter.output.contains("past total_timesteps"), "\(shorter.output)")
        #expect(folderSnapshot(run) == before)
        let longer = try dojo(["train", "--resume", run, "--steps", "1200"])
        #expect(longer.status == 0 && longer.output.contains("resuming \(run) at step 600 of 1200"), "\(longer.output)")
        let config = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        #expect(config.contains("\"total_timesteps\" : 1200") && config.contains("\"schedule_timesteps\" : 600"), "\(config)")
    }
}

@Suite struct TrainingThreadsCLITests {
    /// Issue 16, item 4: `--threads 2` steps a run's environment copies on two threads, and the run is bit for bit
    /// the one-thread run (the network's products are far below the size that goes to two BLAS threads).
    @Test("--threads 2 steps the copies on two threads and trains the same weights as one thread")
    func threadsKeepTheResults() throws {
        var models: [Data] = []
        for threads in ["1", "2"] {
            let run = scratchFolder("threads\(threads)")
            let result = try dojo(["train", "cartpole", "--agent", "ppo", "--envs", "16", "--steps", "4096", "--seed", "5",
                                   "--threads", threads, "--out", run])
            #expect(result.status == 0, "\(result.output)")
            let multi = result.output.contains("stepping 16 environment copies on 2 threads")
            #expect(multi == (threads == "2" && ProcessInfo.processInfo.activeProcessorCount > 1), "\(result.output)")
            models.append(try Data(contentsOf: URL(fileURLWithPath: run + "/checkpoints/last/model.safetensors")))
        }
        #expect(models[0] == models[1])
    }
}

@Suite struct RunFilesCLITests {
    /// Issue 11, finding 11: runs named their map by a path relative to where training started, so `eval` failed from
    /// another folder and silently used an edited map.
    @Test("A map named by path is copied into the run: eval works from any folder and ignores later edits of the original")
    func mapCopiedIntoRun() throws {
        let work = scratchFolder("work"), elsewhere = scratchFolder("elsewhere")
        for folder in [work, elsewhere] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try "#######\n#S....#\n#....G#\n#######\n".write(toFile: work + "/room.txt", atomically: true, encoding: .utf8)
        let trained = try dojo(["train", "gridworld", "--option", "map=room.txt", "--steps", "400", "--set", "learning_starts=100",
                                "--set", "batch_size=16", "--out", "run"], in: work)
        #expect(trained.status == 0, "\(trained.output)")
        let config = try String(contentsOfFile: work + "/run/config.json", encoding: .utf8)
        #expect(config.contains("\"map\" : \"files\\/room.txt\"") || config.contains("\"map\" : \"files/room.txt\""), "\(config)")
        let before = try dojo(["eval", work + "/run", "--episodes", "3"], in: elsewhere)
        #expect(before.status == 0, "\(before.output)")
        try "#########\n#S......#\n#......G#\n#########\n".write(toFile: work + "/room.txt", atomically: true, encoding: .utf8)
        let after = try dojo(["eval", work + "/run", "--episodes", "3"], in: elsewhere)
        #expect(after.status == 0 && after.output == before.output, "\(after.output)")
    }
}

@Suite struct CheckpointKillCLITests {
    /// Issue 11, finding 4: killed between the checkpoint writer's two renames (reproduced by `strace -e
    /// inject=rename:signal=SIGKILL`), a run was left with complete `last.old` and `last.tmp` folders and no `last`,
    /// and `--resume` said it had no checkpoint.
    @Test("A run killed between the checkpoint renames resumes from the newest complete checkpoint")
    func resumeAfterKillBetweenRenames() throws {
        let run = scratchFolder("killed")
        #expect(try dojo(["train", "cartpole", "--steps", "600", "--set", "learning_starts=100", "--set", "batch_size=16",
                          "--out", run]).status == 0)
        let last = run + "/checkpoints/last", manager = FileManager.default
        // The state the kill leaves: the previous checkpoint moved aside, the new one finished but not renamed yet.
        try manager.moveItem(atPath: last, toPath: last + ".old")
        try manager.copyItem(atPath: last + ".old", toPath: last + ".tmp")
        let resumed = try dojo(["train", "--resume", run, "--steps", "800"])
        #expect(resumed.status == 0 && resumed.output.contains("at step 600 of 800"), "\(resumed.output)")
        #expect(manager.fileExists(atPath: last + "/state.safetensors"))
        #expect(!manager.fileExists(atPath: last + ".old") && !manager.fileExists(atPath: last + ".tmp"))
    }
}
