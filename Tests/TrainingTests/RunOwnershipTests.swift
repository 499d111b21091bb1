import Foundation
import Testing
import TestSupport
@testable import Training

@Suite(.serialized) struct RunOwnershipTests {
    init() { pinBLASToOneThread() }

    @Test("One lock per run directory: a second owner is refused until the first is released")
    func lock() throws {
        let path = temporaryDirectory("owned")
        var first: RunDirectory? = try RunDirectory(path, mode: .create)
        #expect(first != nil)
        #expect(throws: RunDirectoryError.self) { _ = try RunDirectory(path, mode: .create) }
        do {
            _ = try RunDirectory(path, mode: .create)
        } catch let error as RunDirectoryError {
            #expect("\(error)".contains("process \(getpid())"), "\(error)")
        }
        first = nil
        #expect(try RunDirectory(path, mode: .create).path == path)
    }

    @Test("A new run refuses a folder with files and an existing run; resuming needs a run")
    func ownership() throws {
        let path = temporaryDirectory("busy-folder")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: path + "/notes.txt"))
        #expect(throws: RunDirectoryError.notEmpty(path, contents: ["notes.txt"])) { _ = try RunDirectory(path, mode: .create) }
        #expect(throws: TrainingError.notARun(path)) { _ = try RunDirectory(path, mode: .resume) }
        let run = temporaryDirectory("a-run")
        _ = try DQNTrainer(config: smallRun(steps: 600), directory: run).run()
        #expect(throws: RunDirectoryError.existingRun(run)) { _ = try DQNTrainer(config: smallRun(steps: 600), directory: run) }
    }

    @Test("--resume --steps N: a finished run extended to N equals an uninterrupted run of N with the same schedule horizon",
          arguments: ["dqn", "ppo"])
    func extendBudget(agent: String) throws {
        var short = agent == "dqn" ? smallRun(steps: 2_000) : smallActorCriticRun(agent: "ppo", env: "cartpole", steps: 1_024)
        // The end of a budget evaluates on n_final_eval_episodes, a step the uninterrupted run evaluates as any other:
        // the same count keeps the two records equal.
        short.nFinalEvalEpisodes = short.nEvalEpisodes
        let longer = agent == "dqn" ? 3_000 : 2_048
        let extended = temporaryDirectory("extended"), straight = temporaryDirectory("straight-long")
        _ = try makeTrainer(config: short, directory: extended).run(progress: nil, stopAt: nil)
        var resumed = try RunConfig.load(run: extended)
        #expect(resumed == short)
        resumed.extend(to: longer)
        let trainer = try makeTrainer(config: resumed, directory: extended, resume: true)
        #expect(trainer.step == short.totalTimesteps)
        _ = try trainer.run(progress: nil, stopAt: nil)
        short.scheduleTimesteps = short.totalTimesteps
        short.totalTimesteps = longer
        _ = try makeTrainer(config: short, directory: straight).run(progress: nil, stopAt: nil)
        for file in ["checkpoints/last/model.safetensors", "checkpoints/last/state.safetensors", "config.json"] {
            #expect(fileBytes("\(straight)/\(file)") != nil)
            #expect(fileBytes("\(straight)/\(file)") == fileBytes("\(extended)/\(file)"), "\(file) differs")
        }
    }
}
