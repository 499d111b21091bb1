import Neural
import Sim

/// A recurrent Q-network for partially observed tasks (DRQN, Hausknecht & Stone 2015): each observation is embedded
/// (Linear + ReLU), an LSTM carries memory across steps, and a linear head gives one value per action.
///
/// Shapes: observations (B, T, obs) → Q-values (B, T, actions); state (B, H). A reset mask (B, T) zeroes the state
/// where an episode starts. Names: `embedding.0.weight`, `embedding.0.bias`, `lstm.weight_ih_l0`, …, `head.weight`,
/// `head.bias` (PyTorch layouts).
public final class RecurrentQNetwork: Module {
    public let observationSize: Int
    public let actionCount: Int
    public let hiddenSize: Int
    public let embedding: Sequential
    /// The recurrent core: the same LSTM encoder recurrent policies use, fed the embedding.
    public let encoder: LSTMEncoder
    public let head: Linear
    public var isTraining = true

    private var batch = 0, steps = 0

    public init(observationSize: Int, actionCount: Int, embedSize: Int, hiddenSize: Int, rng: inout SeededGenerator) {
        self.observationSize = observationSize
        self.actionCount = actionCount
        self.hiddenSize = hiddenSize
        let first = Linear(inputFeatures: observationSize, outputFeatures: embedSize, rng: &rng)
        first.computesInputGradient = false
        embedding = Sequential([first, Activation(.relu, features: embedSize)])
        encoder = LSTMEncoder(inputSize: embedSize, hiddenSize: hiddenSize, inputIsData: false, rng: &rng)
        head = Linear(inputFeatures: hiddenSize, outputFeatures: actionCount, rng: &rng)
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        embedding.namedParameters(prefix: prefix + "embedding.") + encoder.namedParameters(prefix: prefix)
            + head.namedParameters(prefix: prefix + "head.")
    }

    /// The LSTM (its final state after `forward` is `lstm.finalHidden` / `lstm.finalCell`).
    public var lstm: LSTM { encoder.lstm }

    /// Q-values (B, T, actions). `initialHidden`/`initialCell` (B, H) default to zeros; `resetMask` (B, T) marks
    /// episode starts. The final state is in `lstm.finalHidden` / `lstm.finalCell`.
    public func forward(_ observations: UnsafePointer<Float>, batch: Int, steps: Int,
                        initialHidden: UnsafePointer<Float>? = nil, initialCell: UnsafePointer<Float>? = nil,
                        resetMask: UnsafePointer<Float>? = nil) -> UnsafeMutablePointer<Float> {
        self.batch = batch
        self.steps = steps
        let embedded = embedding.forward(observations, rows: batch * steps)
        encoder.prepare(batch: batch, steps: steps, initialHidden: initialHidden, initialCell: initialCell, resetMask: resetMask)
        let hidden = encoder.encode(embedded, rows: batch * steps)
        return head.forward(hidden, rows: batch * steps)
    }

    /// Backpropagation through time from dL/dQ (B, T, actions).
    public func backward(_ qGradient: UnsafePointer<Float>) {
        let dHidden = head.backward(qGradient)
        let dEmbedded = encoder.backwardReturningInputGradient(dHidden)
        _ = embedding.backward(dEmbedded)
    }
}
