import ArgumentParser
import Foundation
import Neural
import Sim
import Training
import Visualizer

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an agent headless, with progress, logs, evaluations and checkpoints.",
        discussion: """
            With no arguments: the default preset (\(Presets.defaultName)), \
            about a minute on one core.

            Presets:
            \(Presets.all.map { "  \($0.name)\n      \($0.summary)" }.joined(separator: "\n"))

            Settings are layered, each overriding the one before:
              preset → --config FILE (YAML or JSON, keys as in config.json)
              → --option key=value (environment) → --set key=value
              (hyperparameters) → --steps, --seed, --envs.
            Hyperparameters use Stable-Baselines3's names and go to the run's agent \
            (or name its section: ppo.n_steps=64); --set also takes lin_0.001 \
            schedules and comma lists (net_arch=128,128). --config also reads an \
            rl-baselines3-zoo file as the zoo writes it (dojo train cartpole --config ppo.yml). \
            The full table with kinds, defaults and SB3 names: docs/hyperparameters.md.
            \(AlgorithmRegistry.all.map { "\($0.id): \($0.hyperparameterNames.joined(separator: ", "))." }.joined(separator: "\n"))

            A run directory holds config.json, metrics.csv, metrics.jsonl, \
            tensorboard/, learning_curve.png, checkpoints/{best,last} \
            (safetensors, PyTorch names) and best_episode.replay. \
            Ctrl-C saves a resumable checkpoint; continue with --resume.

            Examples:
              dojo train
              dojo train cartpole --seed 3
              dojo train gridworld --option map=mymap.txt --steps 200000
              dojo train --preset gridworld-memory-drqn --set burn_in=4
              dojo train cartpole --agent ppo --set n_steps=64
              dojo train --preset arm-reach-ppo
              dojo train --resume runs/gridworld-four-rooms-dqn-seed0
              dojo train cartpole --agent ppo --seeds 0-4     (runs/cartpole-ppo/seed0 … seed4)
              dojo train --resume runs/cartpole-ppo          (continue every seed of a group)

            --seeds trains one run per seed as separate processes (--jobs at a time, \
            one thread each) into a group folder with group.json, a log per seed \
            and summary.md; each run is the run --seed would train, bit for bit. \
            Ctrl-C stops them all at a checkpoint; --resume FOLDER continues them.
            """)

    @Argument(help: "Environment id (see `dojo envs`); default: the preset's.")
    var environment: String?
    @Option(help: ArgumentHelp("Agent: \(AlgorithmRegistry.ids.joined(separator: ", ")) (default: the preset's, else \(AlgorithmRegistry.defaultAlgorithm.id)).",
                               valueName: "id"))
    var agent: String?
    @Option(help: "Preset name (listed above).")
    var preset: String?
    @Option(help: "Total environment steps.")
    var steps: Int?
    @Option(help: "Run seed (environments, exploration, initialization, sampling).")
    var seed: UInt64?
    @Option(help: ArgumentHelp("Train one run per seed, as parallel processes, into a group folder (--out, default runs/<name>): 0-4, or 0,3,7.",
                               valueName: "seeds"))
    var seeds: String?
    @Option(help: "Runs trained at once with --seeds (default: the number of cores); each run uses one thread.")
    var jobs: Int?
    @Option(help: "Environment copies stepped in lockstep.")
    var envs: Int?
    @Option(help: "Run directory (default: runs/<preset>-seed<S>).")
    var out: String?
    @Option(help: "YAML or JSON config file.")
    var config: String?
    @Option(name: [.customLong("option"), .customShort("o")], help: ArgumentHelp("Environment option key=value (repeatable).", valueName: "key=value"))
    var options: [String] = []
    @Option(name: .customLong("set"), help: ArgumentHelp("Hyperparameter key=value (repeatable).", valueName: "key=value"))
    var overrides: [String] = []
    @Option(help: "Continue the run in this directory from its last checkpoint.")
    var resume: String?
    @Flag(help: "Show an episode of the current policy in a window after each evaluation (training pauses meanwhile).")
    var watch = false
    @Flag(help: "Print where the run's wall-clock went: environment steps, acting, replay sampling, learning (forward, backward, optimizer), logging, evaluation, checkpoints.")
    var profile = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if let steps, steps < 1 || steps > RunConfig.maximumTimesteps {
            throw ValidationError("--steps must be in 1...\(RunConfig.maximumTimesteps) (got \(steps)).")
        }
        if let envs, envs < 1 || envs > 1024 { throw ValidationError("--envs must be in 1...1024 (got \(envs)).") }
        if let jobs, jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be in 1...64 (got \(jobs)).") }
        if seeds != nil, seed != nil { throw ValidationError("--seeds and --seed exclude each other: --seeds 3-3 trains seed 3 alone in a group.") }
        if seeds != nil, watch { throw ValidationError("--watch shows one run; train one seed with --seed to watch it.") }
        if seeds != nil, profile { throw ValidationError("--profile measures one run; train one seed with --seed to profile it.") }
        if jobs != nil, seeds == nil, resume == nil { throw ValidationError("--jobs goes with --seeds (or --resume of a group).") }
        if let resume {
            // A resumed run continues exactly as configured; only its budget can grow.
            let changes = [(environment != nil, "an environment"), (agent != nil, "--agent"), (preset != nil, "--preset"), (seeds != nil, "--seeds"),
                           (seed != nil, "--seed"), (envs != nil, "--envs"), (out != nil, "--out"), (config != nil, "--config"),
                           (!options.isEmpty, "--option"), (!overrides.isEmpty, "--set")].filter(\.0).map(\.1)
            if !changes.isEmpty {
                throw ValidationError("--resume continues \(resume) exactly as it was configured, so \(changes.joined(separator: ", ")) "
                                      + "cannot change it. Drop \(changes.count == 1 ? "it" : "them") (only --steps N may extend the budget), "
                                      + "or start a new run.")
            }
        }
    }

    func run() throws {
        BLASThreads.set(compute.threads)
        if let seeds { return try trainGroup(seeds: RunGroup.parseSeeds(seeds)) }
        if let resume, let group = try RunGroup.read(from: resume) {
            return try SeedGroupTraining(folder: resume, group: group, jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount,
                                         steps: steps).run()
        }
        installInterruptHandler()
        let trainer: any Trainer
        if let resume {
            var config = try RunConfig.load(run: resume)
            if let steps { config.extend(to: steps) }
            trainer = try makeTrainer(config: config, directory: resume, resume: true)
            print("resuming \(resume) at step \(trainer.step) of \(config.totalTimesteps)")
        } else {
            let config = try request().resolve()
            let directory = out ?? Self.freshDirectory("runs/\(config.preset ?? "\(config.env)-\(config.agent)")-seed\(config.seed)")
            trainer = try makeTrainer(config: config, directory: directory)
            print("training \(config.agent) on \(config.env) \(config.envOptions.isEmpty ? "" : optionList(config.envOptions) + " ")"
                  + "for \(config.totalTimesteps) steps (seed \(config.seed)) → \(directory)")
        }
        trainer.environmentThreads = compute.threads
        if trainer.environmentThreads > 1 {
            print("stepping \(trainer.config.nEnvs) environment copies on \(trainer.environmentThreads) threads (the results stay the same)")
        }
        if watch { try attachWindow(to: trainer) }
        let startStep = trainer.step
        if profile {
            let clock = PhaseClock()
            clock.timeProducts(true)
            trainer.clock = clock
        }
        let summary = try trainer.run(progress: ProgressReporter(total: trainer.config.totalTimesteps, startingAt: trainer.step), stopAt: nil)
        if let clock = trainer.clock { print(clock.report(steps: summary.steps - startStep)) }
        let directory = trainer.directory
        if summary.interrupted {
            print("interrupted at step \(summary.steps); checkpoint saved. Continue with: dojo train --resume \(directory)")
            throw ExitCode(130)
        }
        if let evaluation = summary.lastEvaluation {
            print(String(format: "done: %d steps, %d episodes; final evaluation over %d episodes: return %.3f ± %.3f "
                         + "(standard error; std %.3f)", summary.steps, summary.episodes, evaluation.returns.count,
                         evaluation.meanReturn, evaluation.returnStandardError, evaluation.stdReturn)
                  + evaluation.detailsWithErrors.map { ", " + $0 }.joined()
                  + (evaluation.meanOptimalReturn.map { String(format: " (optimal %.3f)", $0) } ?? ""))
        }
        print("""
            next:
              dojo watch \(directory)                                 watch the best policy (add --headless --video run.mp4 without a display)
              dojo eval \(directory)                                  evaluate the best checkpoint
              dojo replay \(directory)/best_episode.replay --verify   check the best evaluation episode
              \(openCommand) \(directory)/learning_curve.png, or: tensorboard --logdir \(directory)/tensorboard
            """)
    }

    /// The run these flags ask for.
    func request() throws -> RunRequest {
        var request = RunRequest()
        request.environment = environment
        request.agent = agent
        request.preset = preset
        request.configFile = config
        request.options = try parseOptionAssignments(options)
        request.overrides = overrides
        request.steps = steps
        request.seed = seed
        request.envs = envs
        return request
    }

    /// Trains one run per seed into a new group folder; the settings are checked once, here, before any process starts.
    func trainGroup(seeds: [UInt64]) throws {
        let resolved = try request().resolve()
        let folder = out ?? Self.freshDirectory("runs/\(resolved.preset ?? "\(resolved.env)-\(resolved.agent)")")
        if FileManager.default.fileExists(atPath: folder) {
            throw ValidationError("\(folder) exists; Dojo never mixes runs into a folder it did not make. Continue it with "
                                  + "dojo train --resume \(folder), or choose another --out.")
        }
        var arguments: [String] = environment.map { [$0] } ?? []
        if let agent { arguments += ["--agent", agent] }
        if let preset { arguments += ["--preset", preset] }
        if let steps { arguments += ["--steps", "\(steps)"] }
        if let envs { arguments += ["--envs", "\(envs)"] }
        if let config { arguments += ["--config", URL(fileURLWithPath: config).standardizedFileURL.path] }
        for option in options { arguments += ["--option", option] }
        for assignment in overrides { arguments += ["--set", assignment] }
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw TrainingError.cannotWrite(folder, error.localizedDescription)
        }
        let group = RunGroup(name: URL(fileURLWithPath: folder).lastPathComponent, seeds: seeds, arguments: arguments)
        try group.write(to: folder)
        try SeedGroupTraining(folder: folder, group: group, jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount, steps: nil).run()
    }

    /// `base`, or `base-2`, `base-3`, … if it exists.
    static func freshDirectory(_ base: String) -> String {
        var candidate = base, index = 2
        while FileManager.default.fileExists(atPath: candidate) { candidate = "\(base)-\(index)"; index += 1 }
        return candidate
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained run greedily: return and length statistics, success rate.",
        discussion: """
            Examples:
              dojo eval runs/gridworld-four-rooms-dqn-seed0 --episodes 20 --record best.replay
              dojo eval runs/cartpole-ppo-seed0 --json | jq .mean_reward

            --json prints one JSON object on stdout and nothing else (messages go to stderr): run, checkpoint, env, \
            env_options, agent, seed, episodes, mean_reward, std_reward, min_reward, max_reward, mean_ep_length, \
            std_ep_length, min_ep_length, max_ep_length, episode_rewards, episode_lengths, success_rate (environments \
            that report success) and the environment's own figures (collision_rate, final_distance …), named as the \
            eval/ TensorBoard tags of training.
            """)

    @Argument(help: "Run directory (from dojo train).")
    var directory: String
    @Option(help: "Episodes to run.")
    var episodes: Int = 100
    @Option(help: "Checkpoint: best or last.")
    var checkpoint: String = "best"
    @Option(help: "Evaluation seed (episode k is seeded from it).")
    var seed: UInt64 = 12345
    @Option(help: "Write the best episode as a replay.")
    var record: String?
    @Flag(help: "Print one JSON record on stdout instead of the summary (see above).")
    var json = false

    func validate() throws {
        guard episodes > 0 else { throw ValidationError("--episodes must be positive (got \(episodes)).") }
        guard ["best", "last"].contains(checkpoint) else { throw ValidationError("--checkpoint is best or last (got \(checkpoint)).") }
    }

    func run() throws {
        BLASThreads.set(1)
        let trained = try TrainedRun(directory: directory, checkpoint: checkpoint)
        let (result, best) = try trained.evaluate(episodes: episodes, seed: seed)
        if json {
            let config = trained.config
            FileHandle.standardOutput.write(try result.jsonRecord(run: directory, checkpoint: checkpoint, environment: config.env,
                                                                  options: config.envOptions, agent: config.agent, seed: seed)
                                            + Data("\n".utf8))
        } else {
            printSummary(result, environment: trained.config.env)
        }
        if let record {
            try best.write(to: record)
            let message = "best episode written to \(record) (dojo replay \(record) --verify)"
            if json { FileHandle.standardError.write(Data((message + "\n").utf8)) } else { print(message) }
        }
    }

    private func printSummary(_ result: EvaluationResult, environment: String) {
        func stats(_ values: [Double]) -> String {
            let mean = values.reduce(0, +) / Double(values.count)
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
            return String(format: "mean %.4f  std %.4f  min %.4f  max %.4f", mean, std, values.min()!, values.max()!)
        }
        print("\(directory) (\(checkpoint) checkpoint), \(environment), \(episodes) greedy episodes")
        print("  return: \(stats(result.returns))" + String(format: "  standard error %.4f", result.returnStandardError))
        print("  length: \(stats(result.lengths.map(Double.init)))")
        for detail in result.detailsWithErrors { print("  " + detail + " (standard error)") }
        if let optimal = result.meanOptimalReturn {
            print(String(format: "  optimal return (BFS): mean %.4f; achieved %.2f%% of it", optimal, 100 * result.meanReturn / optimal))
        }
    }
}

extension Train {
    /// `--watch`: after each evaluation, one episode of the current policy in a window; closing the window stops it.
    func attachWindow(to trainer: any Trainer) throws {
        #if SDL
        let config = trainer.config
        let probe = try WatchSession(driver: .random, environment: config.env, options: config.envOptions)
        let first = WatchView(probe).frame(status: "")
        let window = try Window(title: "Dojo — training \(config.agent) on \(config.env)", width: first.width, height: first.height,
                                scale: first.width < 400 ? 2 : 1)
        var evaluation = 0
        trainer.onEvaluation = { [weak trainer] policy in
            evaluation += 1
            let title = "\(config.env.uppercased()) \(config.agent.uppercased()) @ \(trainer?.step ?? 0)"
            let session = try WatchSession(driver: .policy(policy, title: title), environment: config.env,
                                           options: config.envOptions, seed: config.seed &+ UInt64(evaluation))
            let view = WatchView(session)
            let outcome = try Player.run(view, in: window, framesPerSecond: probe.metadata.renderFPS,
                                         keyboard: false, episodes: 1)
            if outcome.closed { trainer?.onEvaluation = nil }
        }
        #else
        throw WindowError.notCompiled
        #endif
    }
}

/// Options as `key=value`, sorted by key and separated by spaces (as `--option` takes them).
func optionList(_ options: [String: String]) -> String {
    options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
}

/// The command that opens a file in the desktop's default application.
#if os(macOS)
let openCommand = "open"
#else
let openCommand = "xdg-open"
#endif
