import ArgumentParser

@main
struct Dojo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dojo",
        abstract: "Train, watch and replay reinforcement-learning agents: one native binary, reproducible to the bit.",
        discussion: """
            Start here:
              dojo train              train the default agent (DQN, gridworld)
              dojo eval runs/<run>    evaluate it
              dojo compare runs/a runs/b
                                      compare runs or seed groups (IQM, 95% CIs)
              dojo envs               environments, spaces and options
              dojo rollout gridworld --random 20 --json
                                      one episode, step by step
              dojo bench nn           speed of the neural core
            """,
        version: dojoVersion,
        subcommands: [Train.self, Eval.self, Compare.self, Watch.self, Envs.self, Rollout.self, ReplayCommand.self, Render.self, Bench.self]
    )
}

/// The version `dojo --version` prints (semantic versioning; raised with each release).
let dojoVersion = "0.1.0"

/// Options every command that computes shares.
struct ComputeOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Threads (at most the machine's cores).",
        discussion: "Training steps its environment copies on this many threads (from 16 copies, when a step is worth "
                    + "splitting; this never changes a result) and runs matrix products of at least 4.2 M multiply-adds "
                    + "on this many OpenBLAS threads (this changes the last bits of their sums, so results are "
                    + "bit-identical only at the same thread count). Smaller products stay on one thread, where small "
                    + "networks are fastest."))
    var threads: Int = 1

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads)); try --threads 1.") }
    }
}
