import Agents
import Sim

/// A goal-conditioned environment as hindsight replay sees it: where the goals sit in its flat observation and its
/// goal reward.
struct GoalTask {
    let layout: GoalLayout
    let reward: GoalReward
}

extension AnyEnvironment {
    /// The goal task of a goal-conditioned environment, nil for any other.
    var goalConditioned: GoalTask? { nil }
}
