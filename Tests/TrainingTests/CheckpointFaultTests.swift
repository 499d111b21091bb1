import Foundation
import Neural
import Synchronization
import Testing
import TestSupport
@testable import Training

/// Issue 11, finding 4: a kill between the checkpoint writer's renames left `last.old` and `last.tmp` complete and
/// `--resume` said the run had no checkpoint. The writer is stopped after each of its steps in turn, as a kill would.
@Suite(.serialized) struct CheckpointFaultTests {
    init() { pinBLASToOneThread() }

    func files(generation: String) -> (model: SafeTensors.File, state: SafeTensors.File) {
        var model = SafeTensors.File(metadata: ["generation": generation])
        model.append("w", .float32(Tensor(shape: [2], scalars: [1, 2])))
        let state = SafeTensors.File(metadata: ["generation": generation])
        return (model, state)
    }

    func generation(in folder: String) throws -> (model: String?, state: String?) {
        (try SafeTensors.read(from: folder + "/model.safetensors").metadata["generation"],
         try SafeTensors.read(from: folder + "/state.safetensors").metadata["generation"])
    }

    @Test("A write stopped after any step leaves the newest complete checkpoint findable, whole and consistent")
    func crashAfterEveryStep() throws {
        for step in CheckpointFolder.Step.allCases {
            let directory = temporaryDirectory("fault"), path = directory + "/last"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let a = files(generation: "A"), b = files(generation: "B")
            try CheckpointFolder.write(path, model: a.model, state: a.state, config: RunConfig())
            CheckpointFolder.crashes.withLock { $0[path] = step }
            #expect(throws: CheckpointFolder.SimulatedCrash.self) {
                try CheckpointFolder.write(path, model: b.model, state: b.state, config: RunConfig())
            }
            let expected = step.rawValue >= CheckpointFolder.Step.markedComplete.rawValue ? "B" : "A"
            let folder = try #require(CheckpointFolder.resolve(path), "no checkpoint found after \(step)")
            let found = try generation(in: folder)
            #expect(found.model == expected && found.state == expected, "after \(step): \(found), expected \(expected)")
            try CheckpointFolder.recover(path)
            #expect(try generation(in: path) == (expected, expected), "after recovering from \(step)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(leftovers == ["last"], "after recovering from \(step): \(leftovers)")
            let c = files(generation: "C")
            try CheckpointFolder.write(path, model: c.model, state: c.state, config: RunConfig())
            #expect(try generation(in: path) == ("C", "C"))
        }
    }

    @Test("Killed between the two renames while saving, a DQN run resumes from the new checkpoint and ends bitwise equal")
    func resumeAfterKillBetweenRenames() throws {
        let straight = temporaryDirectory("fault-straight"), interrupted = temporaryDirectory("fault-killed")
        _ = try DQNTrainer(config: smallRun(), directory: straight).run()
        _ = try DQNTrainer(config: smallRun(), directory: interrupted).run(stopAt: 1_000)
        CheckpointFolder.crashes.withLock { $0[interrupted + "/checkpoints/last"] = .movedCurrentAside }
        #expect(throws: CheckpointFolder.SimulatedCrash.self) {
            _ = try DQNTrainer(config: smallRun(), directory: interrupted, resume: true).run(stopAt: 1_500)
        }
        #expect(!FileManager.default.fileExists(atPath: interrupted + "/checkpoints/last"))
        let resumed = try DQNTrainer(config: smallRun(), directory: interrupted, resume: true)
        #expect(resumed.step == 1_500)
        _ = try resumed.run()
        for file in ["checkpoints/last/model.safetensors", "checkpoints/last/state.safetensors"] {
            #expect(fileBytes("\(straight)/\(file)") == fileBytes("\(interrupted)/\(file)"), "\(file) differs after the kill")
        }
    }

    /// Issue 11, finding 8: metrics logging on a full disk trapped inside `FileHandle.write`.
    @Test("Logging to a full disk is an error naming the file, not a trap")
    func fullDiskWhileLogging() throws {
        let run = temporaryDirectory("full-disk")
        _ = try DQNTrainer(config: smallRun(), directory: run).run(stopAt: 600)
        let events = try #require(try FileManager.default.contentsOfDirectory(atPath: run + "/tensorboard").first)
        try FileManager.default.removeItem(atPath: run + "/tensorboard/" + events)
        try FileManager.default.createSymbolicLink(atPath: run + "/tensorboard/" + events, withDestinationPath: "/dev/full")
        do {
            _ = try DQNTrainer(config: smallRun(), directory: run, resume: true).run()
            Issue.record("training went on although its log could not be written")
        } catch let error as TrainingError {
            #expect("\(error)".contains(events) && "\(error)".contains("cannot write"), "\(error)")
        }
    }
}
