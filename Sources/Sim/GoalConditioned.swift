/// Goal-conditioned environments, in Gymnasium-Robotics' terms: the observation is a dictionary of `achieved_goal`,
/// `desired_goal` and `observation`, and the reward is a function of the two goals alone, so a learner can relabel a
/// stored transition with another goal (hindsight experience replay) and recompute its reward.

/// Where the parts of a goal-conditioned observation lie in the flat observation (the dictionary's parts concatenated
/// in key order: `achieved_goal`, `desired_goal`, `observation`).
public struct GoalLayout: Equatable, Sendable {
    /// Floats in a goal (achieved and desired goals have the same size).
    public let goalSize: Int
    public let achievedOffset: Int
    public let desiredOffset: Int
    public let observationOffset: Int
    /// Floats in the `observation` part.
    public let observationSize: Int
    /// Floats in the whole flat observation.
    public let flatCount: Int

    /// The layout of a dictionary space with the parts `achieved_goal`, `desired_goal` and `observation` (others may
    /// be present), goals of equal nonzero size; nil for any other space.
    public init?(space: Space) {
        guard let achieved = space.part("achieved_goal"), let desired = space.part("desired_goal"),
              let observation = space.part("observation"), achieved.count == desired.count, achieved.count > 0 else { return nil }
        goalSize = achieved.count
        achievedOffset = achieved.offset
        desiredOffset = desired.offset
        observationOffset = observation.offset
        observationSize = observation.count
        flatCount = space.flatCount
    }
}

/// An environment whose reward depends only on the achieved and the desired goal (Gymnasium-Robotics'
/// `GoalEnv.compute_reward`). Its observation space is a dictionary ``GoalLayout`` reads, and for every step
/// `step(...).reward == computeReward(achieved_goal of the observation step wrote, desired_goal of it)` exactly
/// (bit for bit, as Float). Reach it through any wrappers with ``Environment/goalConditioned``, not with `as?`: an
/// environment type may conform while only some of its options make it goal-conditioned.
public protocol GoalConditionedEnvironment: Environment {
    /// Where the goals and the rest lie in the flat observation.
    var goalLayout: GoalLayout { get }
    /// Writes the reward of `count` (achieved, desired) goal pairs into `rewards`: `achieved` and `desired` hold
    /// `count × goalLayout.goalSize` floats, row-major. Does not allocate, does not read or change the environment's
    /// state (so it may run on another thread than `step`).
    func computeReward(achieved: UnsafePointer<Float>, desired: UnsafePointer<Float>, count: Int,
                       into rewards: UnsafeMutablePointer<Float>)
}

extension GoalConditionedEnvironment {
    /// ``computeReward(achieved:desired:count:into:)`` for arrays of whole goals (convenience for tests and tools).
    public func computeReward(achieved: [Float], desired: [Float]) -> [Float] {
        let size = goalLayout.goalSize
        precondition(achieved.count == desired.count && achieved.count % size == 0,
                     "computeReward needs as many achieved as desired goals of \(size) floats each")
        var rewards = [Float](repeating: 0, count: achieved.count / size)
        rewards.withUnsafeMutableBufferPointer { out in
            guard let base = out.baseAddress else { return }
            computeReward(achieved: achieved, desired: desired, count: out.count, into: base)
        }
        return rewards
    }
}
