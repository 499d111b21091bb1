import Agents
import Neural
import Sim

// The registered algorithms: each declares its hyperparameters (names as Stable-Baselines3 writes them wherever SB3 has
// the setting), their checks, its trainer and how a trained policy is loaded. `AlgorithmRegistry` lists them.

extension DQNTrainer {
    /// Deep Q-learning with Double DQN, dueling heads, n-step returns, prioritized replay, and MLP, ego-attention or
    /// recurrent (R2D2-style) Q-networks.
    public static let algorithm = Algorithm(
        id: "dqn", summary: "Deep Q-learning (Double, dueling, n-step, prioritized replay; MLP, attention or LSTM Q-networks)",
        defaults: DQNConfig(),
        hyperparameters: [
            .init("learning_rate", .number, "Adam step size", sb3: "learning_rate", linearScheduleEnd: "learning_rate_end"),
            .init("learning_rate_end", .optionalNumber, "if set, the learning rate falls linearly to this value over training"),
            .init("buffer_size", .integer, "replay buffer capacity (transitions)", sb3: "buffer_size"),
            .init("learning_starts", .integer, "environment steps collected before learning starts", sb3: "learning_starts"),
            .init("batch_size", .integer, "minibatch size", sb3: "batch_size"),
            .init("tau", .number, "target update coefficient: 1 copies, < 1 averages (Polyak)", sb3: "tau"),
            .init("gamma", .number, "discount factor", sb3: "gamma"),
            .init("train_freq", .integer, "environment steps per copy between updates", sb3: "train_freq"),
            .init("gradient_steps", .integer, "gradient steps per update", sb3: "gradient_steps"),
            .init("target_update_interval", .integer, "environment steps between target updates", sb3: "target_update_interval"),
            .init("exploration_fraction", .number, "fraction of training over which ε falls", sb3: "exploration_fraction"),
            .init("exploration_initial_eps", .number, "ε at the start", sb3: "exploration_initial_eps"),
            .init("exploration_final_eps", .number, "ε after exploration_fraction of training", sb3: "exploration_final_eps"),
            .init("max_grad_norm", .number, "global gradient-norm clip", sb3: "max_grad_norm"),
            .init("net_arch", .layers, "hidden layer sizes of the Q-network", sb3: "policy_kwargs.net_arch"),
            .init("activation_fn", .choice(Activation.Function.allCases.map(\.rawValue)), "hidden-layer nonlinearity",
                  sb3: "policy_kwargs.activation_fn"),
            .init("encoder", .choice(["mlp", "attention", "lstm"]),
                  "observation encoder: mlp, attention (entity sets) or lstm (recurrent, learns from episode windows)"),
            .init("embed_dim", .integer, "ego-attention embedding width"),
            .init("attention_heads", .integer, "ego-attention heads (embed_dim must be a multiple)"),
            .init("lstm_hidden", .integer, "LSTM width (lstm encoder)"),
            .init("sequence_length", .integer, "steps per training window (lstm encoder)"),
            .init("burn_in", .integer, "window steps that only warm up the LSTM state (lstm encoder)"),
            .init("double_q", .flag, "Double DQN: the online network picks the next action, the target values it"),
            .init("dueling", .flag, "dueling head (value + advantages)"),
            .init("n_step", .integer, "n-step returns", sb3: "n_steps"),
            .init("prioritized_replay", .flag, "proportional prioritized replay"),
            .init("priority_alpha", .number, "priority exponent α"),
            .init("priority_beta0", .number, "importance-sampling exponent β at the start (annealed to 1)"),
        ] + hindsightSpecs,
        problems: { config, observationSpace, actionSpace, _ in
            config.problems(observationSpace: observationSpace, actionSpace: actionSpace)
        },
        makeTrainer: { config, hyperparameters, directory, resume in
            try DQNTrainer(config: config, hyperparameters: hyperparameters, directory: directory, resume: resume)
        },
        loadPolicy: { _, hyperparameters, model, path, observationSpace, observationKind, actionSpace in
            try hyperparameters.loadGreedyPolicy(model: model, path: path, observationSpace: observationSpace,
                                                 observationKind: observationKind, actionSpace: actionSpace)
        })
}

extension ActorCriticTrainer {
    /// Proximal policy optimization with Stable-Baselines3's defaults.
    public static let ppo = algorithm(.ppo, summary: "Proximal policy optimization (clipped; MLP, attention, LSTM policies)",
                               defaults: .ppo)
    /// Advantage actor-critic with Stable-Baselines3's defaults (RMSprop, five-step rollouts).
    public static let a2c = algorithm(.a2c, summary: "Advantage actor-critic (synchronous; SB3's RMSprop defaults)", defaults: .a2c)

    private static func algorithm(_ kind: ActorCriticAgent.Algorithm, summary: String, defaults: ActorCriticConfig) -> Algorithm {
        Algorithm(
            id: kind.rawValue, summary: summary, defaults: defaults,
            hyperparameters: [
                .init("learning_rate", .number, "optimizer step size", sb3: "learning_rate", linearScheduleEnd: "learning_rate_end"),
                .init("learning_rate_end", .optionalNumber, "if set, the learning rate falls linearly to this value over training"),
                .init("n_steps", .integer, "steps per environment copy in each rollout", sb3: "n_steps"),
                .init("batch_size", .integer, "PPO minibatch size (A2C uses the whole rollout)", sb3: "batch_size"),
                .init("n_epochs", .integer, "passes over each rollout", sb3: "n_epochs"),
                .init("gamma", .number, "discount factor", sb3: "gamma"),
                .init("gae_lambda", .number, "GAE λ", sb3: "gae_lambda"),
                .init("clip_range", .number, "PPO's probability-ratio clip", sb3: "clip_range", linearScheduleEnd: "clip_range_end"),
                .init("clip_range_end", .optionalNumber, "if set, clip_range falls linearly to this value over training"),
                .init("clip_range_vf", .optionalNumber, "clip of the value prediction around the rollout's values (null: none)",
                      sb3: "clip_range_vf"),
                .init("normalize_advantage", .flag, "normalize advantages per minibatch", sb3: "normalize_advantage"),
                .init("ent_coef", .number, "entropy bonus weight", sb3: "ent_coef"),
                .init("vf_coef", .number, "value loss weight", sb3: "vf_coef"),
                .init("max_grad_norm", .number, "global gradient-norm clip", sb3: "max_grad_norm"),
                .init("target_kl", .optionalNumber, "stop an update's epochs once the approximate KL exceeds 1.5 × this",
                      sb3: "target_kl"),
                .init("net_arch", .layers, "hidden layers of the actor and the critic (separate trunks)", sb3: "policy_kwargs.net_arch"),
                .init("activation_fn", .choice(["tanh", "relu"]), "hidden-layer nonlinearity", sb3: "policy_kwargs.activation_fn"),
                .init("ortho_init", .flag, "orthogonal initialization (gains √2, 0.01 policy, 1 value)", sb3: "policy_kwargs.ortho_init"),
                .init("log_std_init", .number, "initial log standard deviation of Gaussian policies", sb3: "policy_kwargs.log_std_init"),
                .init("encoder", .choice(["mlp", "attention", "lstm", "attention-lstm"]),
                      "observation encoder: mlp, attention (entity sets), lstm (recurrent) or attention-lstm"),
                .init("embed_dim", .integer, "ego-attention embedding width"),
                .init("attention_heads", .integer, "ego-attention heads (embed_dim must be a multiple)"),
                .init("lstm_hidden", .integer, "LSTM width", sb3: "policy_kwargs.lstm_hidden_size"),
                .init("normalize_observations", .flag, "running normalization of observations (VecNormalize's norm_obs)"),
                .init("normalize_rewards", .flag, "scale rewards by the running std of the discounted return (norm_reward)"),
                .init("optimizer", .choice(["adam", "rmsprop"]), "adam, or rmsprop (PyTorch's, α 0.99, as SB3's A2C)",
                      sb3: "policy_kwargs.optimizer_class"),
                .init("rms_prop_eps", .number, "RMSprop ε", sb3: "policy_kwargs.optimizer_kwargs.eps"),
            ],
            problems: { config, observationSpace, actionSpace, copies in
                config.problems(observationSpace: observationSpace, actionSpace: actionSpace, algorithm: kind,
                                environmentCopies: copies)
            },
            makeTrainer: { config, hyperparameters, directory, resume in
                try ActorCriticTrainer(config: config, algorithm: kind, hyperparameters: hyperparameters, directory: directory,
                                       resume: resume)
            },
            loadPolicy: { config, hyperparameters, model, path, observationSpace, observationKind, actionSpace in
                try ActorCriticPolicyRunner(algorithm: kind, hyperparameters: hyperparameters, model: model, path: path,
                                            observationSpace: observationSpace, observationKind: observationKind,
                                            actionSpace: actionSpace)
            })
    }
}

/// Hindsight replay's settings, the same for every algorithm that offers it.
let hindsightSpecs: [HyperparameterSpec] = [
    .init("replay_buffer_class", .choice(["replaybuffer", "herreplaybuffer"]),
          "HerReplayBuffer relabels goals in hindsight (goal-conditioned tasks such as arm goal=true)", sb3: "replay_buffer_class"),
    .init("n_sampled_goal", .integer, "hindsight replay: relabelled goals per real transition", sb3: "replay_buffer_kwargs.n_sampled_goal"),
    .init("goal_selection_strategy", .choice(HindsightReplayBuffer.Strategy.allCases.map(\.rawValue)),
          "hindsight replay: goals from later steps of the episode (future), its last step (final) or any step (episode)",
          sb3: "replay_buffer_kwargs.goal_selection_strategy"),
]

extension OffPolicyTrainer {
    /// Soft Actor-Critic with Stable-Baselines3's defaults.
    public static let sac = algorithm(.sac, summary: "Soft actor-critic (continuous actions; learned temperature, twin critics)",
                                      defaults: .sac)
    /// TD3 with Stable-Baselines3's defaults (and the zoo's Gaussian exploration noise).
    public static let td3 = algorithm(.td3, summary: "Twin delayed DDPG (continuous actions; delayed, smoothed targets)", defaults: .td3)

    private static func algorithm(_ kind: OffPolicyAgent.Algorithm, summary: String, defaults: OffPolicyConfig) -> Algorithm {
        var specs: [HyperparameterSpec] = [
            .init("learning_rate", .number, "Adam step size of the actor, the critics" + (kind == .sac ? " and the temperature" : ""),
                  sb3: "learning_rate", linearScheduleEnd: "learning_rate_end"),
            .init("learning_rate_end", .optionalNumber, "if set, the learning rate falls linearly to this value over training"),
            .init("buffer_size", .integer, "replay buffer capacity (transitions)", sb3: "buffer_size"),
            .init("learning_starts", .integer, "environment steps of uniformly random actions before learning starts",
                  sb3: "learning_starts"),
            .init("batch_size", .integer, "minibatch size", sb3: "batch_size"),
            .init("tau", .number, "target averaging coefficient (Polyak): θ′ ← τθ + (1 − τ)θ′", sb3: "tau"),
            .init("gamma", .number, "discount factor", sb3: "gamma"),
            .init("train_freq", .integer, "vector steps between updates", sb3: "train_freq"),
            .init("gradient_steps", .integer, "gradient steps per update (-1: one per environment step collected)",
                  sb3: "gradient_steps"),
        ]
        if kind == .sac {
            specs += [
                .init("ent_coef", .autoOrNumber, "entropy temperature α: auto (learned from 1), auto_X (learned from X) or fixed",
                      sb3: "ent_coef"),
                .init("target_entropy", .autoOrNumber, "entropy the learned α aims for (auto: −action dimensions)",
                      sb3: "target_entropy"),
                .init("target_update_interval", .integer, "gradient steps between target updates", sb3: "target_update_interval"),
            ]
        } else {
            specs += [
                .init("policy_delay", .integer, "critic updates per actor and target update", sb3: "policy_delay"),
                .init("target_policy_noise", .number, "std of the noise smoothing target actions ([-1, 1] scale)",
                      sb3: "target_policy_noise"),
                .init("target_noise_clip", .number, "the target smoothing noise is clipped to ±this", sb3: "target_noise_clip"),
            ]
        }
        specs += [
            .init("noise_type", .choice(["none", "normal"]), "exploration noise added to the actor's action while collecting",
                  sb3: "noise_type"),
            .init("noise_std", .number, "std of the exploration noise ([-1, 1] action scale)", sb3: "noise_std"),
            .init("net_arch", .layers, "hidden layers of the actor and of each critic", sb3: "policy_kwargs.net_arch"),
            .init("activation_fn", .choice(Activation.Function.allCases.map(\.rawValue)), "hidden-layer nonlinearity",
                  sb3: "policy_kwargs.activation_fn"),
            .init("n_critics", .integer, "Q-networks; targets take their minimum", sb3: "policy_kwargs.n_critics"),
            .init("normalize_observations", .flag,
                  "running normalization of observations (VecNormalize's norm_obs); the replay keeps them raw"),
            .init("encoder", .choice(["mlp", "attention"]), "observation encoder: mlp, or attention (entity sets)"),
            .init("embed_dim", .integer, "ego-attention embedding width"),
            .init("attention_heads", .integer, "ego-attention heads (embed_dim must be a multiple)"),
        ] + hindsightSpecs
        return Algorithm(
            id: kind.rawValue, summary: summary, defaults: defaults, hyperparameters: specs,
            problems: { config, observationSpace, actionSpace, copies in
                config.problems(observationSpace: observationSpace, actionSpace: actionSpace, copies: copies)
            },
            makeTrainer: { config, hyperparameters, directory, resume in
                try OffPolicyTrainer(config: config, algorithm: kind, hyperparameters: hyperparameters, directory: directory,
                                     resume: resume)
            },
            loadPolicy: { _, hyperparameters, model, path, observationSpace, _, actionSpace in
                try OffPolicyPolicyRunner(algorithm: kind, hyperparameters: hyperparameters, model: model, path: path,
                                          observationSpace: observationSpace, actionSpace: actionSpace)
            })
    }
}
