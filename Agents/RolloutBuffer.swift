/// On-policy rollout storage, allocated once: `steps` × `copies` transitions, time-major (row t·copies + i is copy i
/// at step t). Holds what the update needs: observations, raw actions (unclipped Gaussian samples, or indices),
/// rewards, episode starts, value estimates and log-probabilities; `computeAdvantages` fills advantages and returns.
public final class RolloutBuffer {
    public let steps: Int
    public let copies: Int
    public let observationSize: Int
    public let actionWidth: Int
    public let observations: UnsafeMutablePointer<Float>   // (T·N, obs)
    public let actions: UnsafeMutablePointer<Float>        // (T·N, actionWidth)
    public let rewards: UnsafeMutablePointer<Float>        // (T·N)
    /// 1 where the observation of that row began an episode (its predecessor's episode ended).
    public let episodeStarts: UnsafeMutablePointer<Float>  // (T·N)
    public let values: UnsafeMutablePointer<Float>         // (T·N)
    public let logProbabilities: UnsafeMutablePointer<Float> // (T·N)
    public let advantages: UnsafeMutablePointer<Float>     // (T·N)
    public let returns: UnsafeMutablePointer<Float>        // (T·N)
    /// Recurrent policies: each copy's LSTM state (N, H) when the rollout began (empty when `stateSize` is 0).
    public let initialHidden: UnsafeMutablePointer<Float>
    public let initialCell: UnsafeMutablePointer<Float>
    public let stateSize: Int
    public private(set) var position = 0

    public init(steps: Int, copies: Int, observationSize: Int, actionWidth: Int, stateSize: Int = 0) {
        precondition(steps > 0 && copies > 0, "a rollout buffer needs at least one step and one copy")
        self.steps = steps
        self.copies = copies
        self.observationSize = observationSize
        self.actionWidth = actionWidth
        let rows = steps * copies
        func make(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
            return pointer
        }
        observations = make(rows * observationSize)
        actions = make(rows * actionWidth)
        rewards = make(rows); episodeStarts = make(rows); values = make(rows); logProbabilities = make(rows)
        advantages = make(rows); returns = make(rows)
        self.stateSize = stateSize
        initialHidden = make(max(copies * stateSize, 1)); initialCell = make(max(copies * stateSize, 1))
    }

    deinit {
        for pointer in [observations, actions, rewards, episodeStarts, values, logProbabilities, advantages, returns,
                        initialHidden, initialCell] {
            pointer.deallocate()
        }
    }

    public var rows: Int { steps * copies }
    public var isFull: Bool { position == steps }

    public func reset() { position = 0 }

    /// Row index of copy `copy` at the current step, for the caller to fill; `advance()` after all copies.
    @inline(__always)
    public func row(_ copy: Int) -> Int { position * copies + copy }

    public func advance() {
        precondition(position < steps, "the rollout buffer is full; compute advantages and reset it")
        position += 1
    }

    /// Generalized advantage estimation (Schulman et al. 2016), as SB3 computes it: δ_t = r_t + γ V_{t+1} (1 − d_{t+1})
    /// − V_t and A_t = δ_t + γλ (1 − d_{t+1}) A_{t+1}, where d marks an episode start. `lastValues` (N) are the values
    /// of the observations after the last step and `lastStarts` (N) whether those begin new episodes. Truncated
    /// episodes are bootstrapped by the caller, which adds γ·V(final observation) to the last reward. Returns are
    /// A + V.
    public func computeAdvantages(lastValues: UnsafePointer<Float>, lastStarts: UnsafePointer<Float>, gamma: Float,
                                  lambda: Float) {
        for i in 0..<copies {
            var running: Float = 0
            for t in stride(from: steps - 1, through: 0, by: -1) {
                let r = t * copies + i
                let nextValue = t == steps - 1 ? lastValues[i] : values[r + copies]
                let nextNonTerminal = 1 - (t == steps - 1 ? lastStarts[i] : episodeStarts[r + copies])
                let delta = rewards[r] + gamma * nextValue * nextNonTerminal - values[r]
                running = delta + gamma * lambda * nextNonTerminal * running
                advantages[r] = running
                returns[r] = running + values[r]
            }
        }
    }

    /// Naive reference for ``computeAdvantages``: for every row, the λ-weighted sum of n-step TD errors written out
    /// term by term until the episode ends or the rollout does. Used by the tests.
    public static func referenceAdvantages(rewards: [Float], values: [Float], episodeStarts: [Float], lastValues: [Float],
                                           lastStarts: [Float], steps: Int, copies: Int, gamma: Float,
                                           lambda: Float) -> [Float] {
        var result = [Float](repeating: 0, count: steps * copies)
        for i in 0..<copies {
            func value(_ t: Int) -> Float { t == steps ? lastValues[i] : values[t * copies + i] }
            func start(_ t: Int) -> Float { t == steps ? lastStarts[i] : episodeStarts[t * copies + i] }
            for t in 0..<steps {
                var total: Float = 0, weight: Float = 1
                var k = t
                while k < steps {
                    let alive = 1 - start(k + 1)
                    let delta = rewards[k * copies + i] + gamma * value(k + 1) * alive - value(k)
                    total += weight * delta
                    if alive == 0 { break }
                    weight *= gamma * lambda
                    k += 1
                }
                result[t * copies + i] = total
            }
        }
        return result
    }
}
