import Agents
@testable import Training

/// Typed access to a run config's hyperparameters for tests. Reading gives the agent's values (the algorithm's
/// defaults when the config has another agent); writing makes that algorithm the agent first.
extension RunConfig {
    var dqn: DQNConfig {
        get { typed(DQNTrainer.algorithm, DQNConfig()) }
        set { setTyped(DQNTrainer.algorithm, newValue) }
    }

    var ppo: ActorCriticConfig {
        get { typed(ActorCriticTrainer.ppo, .ppo) }
        set { setTyped(ActorCriticTrainer.ppo, newValue) }
    }

    var a2c: ActorCriticConfig {
        get { typed(ActorCriticTrainer.a2c, .a2c) }
        set { setTyped(ActorCriticTrainer.a2c, newValue) }
    }

    var sac: OffPolicyConfig {
        get { typed(OffPolicyTrainer.sac, .sac) }
        set { setTyped(OffPolicyTrainer.sac, newValue) }
    }

    var td3: OffPolicyConfig {
        get { typed(OffPolicyTrainer.td3, .td3) }
        set { setTyped(OffPolicyTrainer.td3, newValue) }
    }

    /// Switches the agent (tests name it by id); a bad id is a test-writing mistake.
    mutating func use(_ agent: String) {
        do { try setAgent(agent) } catch { preconditionFailure("\(error)") }
    }

    private func typed<H: Decodable>(_ algorithm: Algorithm, _ defaults: H) -> H {
        guard agent == algorithm.id else { return defaults }
        do { return try hyperparameters(as: H.self) } catch { preconditionFailure("\(error)") }
    }

    private mutating func setTyped<H: Encodable>(_ algorithm: Algorithm, _ values: H) {
        do {
            try setAgent(algorithm.id)
            try setHyperparameters(values)
        } catch {
            preconditionFailure("\(error)")
        }
    }
}
