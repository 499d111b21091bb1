import Agents

/// What a trained policy makes of one observation, for the heads-up display.
public struct PolicyThoughts {
    public enum Kind: Sendable {
        /// Q-values of the discrete actions.
        case actionValues
        /// The probabilities of the discrete actions.
        case probabilities
    }

    public var kind: Kind
    /// One value per discrete action (empty for continuous actions).
    public var actions: [Double]
    /// The critic's value estimate, for actor-critic policies.
    public var value: Double?
    /// Ego-attention weights over the observed entities (empty without an attention encoder).
    public var attention: [Double]
    /// Continuous actions: the policy's action per dimension in the environment's units (SAC: the squashed mean, TD3:
    /// its deterministic action) and, for a stochastic policy, the half-width of the squashed mean ± one standard
    /// deviation in the same units (empty otherwise).
    public var actionMeans: [Double] = []
    public var actionSpreads: [Double] = []

    /// The attention weights of the last forward pass, if `encoder` is an ego-attention encoder.
    static func attention(of encoder: (any ObservationEncoder)?) -> [Double] {
        guard let attention = encoder as? EgoAttentionEncoder else { return [] }
        return (0..<attention.entities).map { Double(attention.attentionWeights[$0]) }
    }
}

/// A policy that can show what it makes of an observation (displays only; not on the evaluation path).
public protocol ExplainablePolicy: EvaluationPolicy {
    /// The policy's view of `observation` (nil when it has none to show, e.g. a recurrent network whose values depend
    /// on its state).
    func thoughts(about observation: UnsafePointer<Float>) -> PolicyThoughts?
}
