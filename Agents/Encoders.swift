import Neural
import Sim

/// Turns observations into features for a value or policy head. Encoders are the building blocks the DQN and
/// actor-critic networks share.
public protocol ObservationEncoder: Module {
    /// Features per row of `encode`'s output.
    var outputSize: Int { get }
    /// (rows, obs) → (rows, outputSize); the buffer is valid until the next call.
    func encode(_ observations: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float>
    /// Backward for the last `encode`, from dL/d(features); accumulates parameter gradients.
    func backward(_ featureGradient: UnsafePointer<Float>)
    /// Whether `backward` uses dL/d(features); false for an encoder without parameters, so the layer after it skips
    /// computing its input gradient.
    var needsFeatureGradient: Bool { get }
}

extension ObservationEncoder {
    public var needsFeatureGradient: Bool { true }
}

/// Expands compact cell codes (``CellCodes``: one code per cell, then extras) into the one-hot planes they stand for, so
/// the layers after it see exactly the observation the one-hot encoding gives. No parameters, no names.
///
/// Shapes: (B, cells + extras) → (B, planes · cells + extras).
public final class CellCodeExpander: ObservationEncoder {
    public let layout: CellCodes
    public var isTraining = true
    public var outputSize: Int { layout.expandedCount }
    public var needsFeatureGradient: Bool { false }
    private let output = Buffer()

    public init(_ layout: CellCodes) { self.layout = layout }

    /// The expander for observations of `kind`, nil when they need none.
    public static func make(for kind: ObservationKind) -> CellCodeExpander? { kind.cellCodes.map(CellCodeExpander.init) }

    public func namedParameters(prefix: String) -> [NamedParameter] { [] }

    public func encode(_ observations: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        let width = layout.expandedCount, count = layout.count
        let planes = output.reserve(rows * width)
        for r in 0..<rows { layout.expand(observations + r * count, into: planes + r * width) }
        return planes
    }

    public func backward(_ featureGradient: UnsafePointer<Float>) {}
}

/// Ego-attention over an entity set (Leurent & Mercat 2019, highway-env's `EgoAttentionNetwork`): every entity row
/// is embedded by a shared linear layer with ReLU; the ego row (row 0) queries all rows with multi-head attention;
/// absent rows (presence feature 0 equal to 0) are masked out. The output is the attended ego feature.
///
/// Shapes: observations (B, N·F) as an entity set of N rows × F features → (B, E).
/// Names: `embedding.0.weight`, `embedding.0.bias`, `attention.in_proj_weight`, … (PyTorch layout).
public final class EgoAttentionEncoder: ObservationEncoder {
    public let entities: Int
    public let features: Int
    public let embedDimension: Int
    public let embedding: Sequential
    public let attention: MultiHeadAttention
    public var isTraining = true
    public var outputSize: Int { embedDimension }

    private let mask = BoolBuffer()
    private let ego = Buffer()             // (B, E): the ego rows' embeddings, contiguous
    private let embeddingGradient = Buffer()
    private var rows = 0

    public init(entities: Int, features: Int, embedDimension: Int, heads: Int, rng: inout SeededGenerator) {
        precondition(entities >= 1 && features >= 2, "ego-attention needs entity rows with a presence feature")
        self.entities = entities
        self.features = features
        self.embedDimension = embedDimension
        let first = Linear(inputFeatures: features, outputFeatures: embedDimension, rng: &rng)
        first.computesInputGradient = false
        embedding = Sequential([first, Activation(.relu, features: embedDimension)])
        attention = MultiHeadAttention(embedDimension: embedDimension, headCount: heads, rng: &rng)
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        embedding.namedParameters(prefix: prefix + "embedding.") + attention.namedParameters(prefix: prefix + "attention.")
    }

    /// Attention weights of the last `encode` over the entities, (B, N), for displays.
    public var attentionWeights: UnsafeMutablePointer<Float> { attention.attentionWeights }

    public func encode(_ observations: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        self.rows = rows
        let N = entities, F = features, E = embedDimension
        let embedded = embedding.forward(observations, rows: rows * N)           // (B·N, E)
        let m = mask.reserve(rows * N)
        for r in 0..<(rows * N) { m[r] = observations[r * F] == 0 }
        let q = ego.reserve(rows * E)
        for b in 0..<rows { (q + b * E).update(from: embedded + b * N * E, count: E) }
        return attention.forward(query: q, key: embedded, value: embedded, batch: rows, queryLength: 1,
                                 keyLength: N, keyPaddingMask: m)
    }

    public func backward(_ featureGradient: UnsafePointer<Float>) {
        let N = entities, E = embedDimension
        let g = attention.backward(featureGradient)
        let d = embeddingGradient.reserve(rows * N * E)
        for i in 0..<(rows * N * E) { d[i] = g.key[i] + g.value[i] }
        for b in 0..<rows { for j in 0..<E { d[b * N * E + j] += g.query[b * E + j] } }
        _ = embedding.backward(d)
    }
}

/// A growable Bool buffer (attention masks).
final class BoolBuffer {
    private(set) var pointer: UnsafeMutablePointer<Bool>
    private var capacity: Int
    init() { capacity = 1; pointer = .allocate(capacity: 1); pointer.initialize(to: false) }
    deinit { pointer.deallocate() }
    func reserve(_ count: Int) -> UnsafeMutablePointer<Bool> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = .allocate(capacity: count)
            pointer.initialize(repeating: false, count: count)
        }
        return pointer
    }
}

/// A recurrent encoder (recurrent PPO): an LSTM over the observations, shared by the actor and the critic
/// (sb3-contrib's `shared_lstm`). Before each `encode`, `prepare` says how the rows form sequences: `batch` sequences
/// of `steps` steps, batch-major, with initial states (B, H) and a reset mask (B, T) that zeroes the state where an
/// episode starts. The final state of the last `encode` is in ``finalHidden`` / ``finalCell``.
///
/// Names: `lstm.weight_ih_l0`, `lstm.weight_hh_l0`, `lstm.bias_ih_l0`, `lstm.bias_hh_l0` (PyTorch layout).
public final class LSTMEncoder: ObservationEncoder {
    public let lstm: LSTM
    public var isTraining = true
    public var outputSize: Int { lstm.hiddenSize }
    private var batch = 1, steps = 1
    private var initialHidden: UnsafePointer<Float>?, initialCell: UnsafePointer<Float>?, resetMask: UnsafePointer<Float>?

    /// `inputIsData`: the input is the observation itself (no gradient needed), not another encoder's features.
    public init(inputSize: Int, hiddenSize: Int, inputIsData: Bool = true, rng: inout SeededGenerator) {
        lstm = LSTM(inputSize: inputSize, hiddenSize: hiddenSize, rng: &rng)
        lstm.computesInputGradient = !inputIsData
    }

    public func namedParameters(prefix: String) -> [NamedParameter] { lstm.namedParameters(prefix: prefix + "lstm.") }

    /// Sets the sequence layout and state for the next `encode` (the pointers must stay valid until `backward`).
    public func prepare(batch: Int, steps: Int, initialHidden: UnsafePointer<Float>?, initialCell: UnsafePointer<Float>?,
                        resetMask: UnsafePointer<Float>?) {
        self.batch = batch
        self.steps = steps
        self.initialHidden = initialHidden
        self.initialCell = initialCell
        self.resetMask = resetMask
    }

    public func encode(_ observations: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        precondition(rows == batch * steps, "LSTMEncoder: \(rows) rows but prepared for \(batch) × \(steps)")
        return lstm.forward(observations, batch: batch, steps: steps, initialHidden: initialHidden, initialCell: initialCell,
                            resetMask: resetMask)
    }

    public func backward(_ featureGradient: UnsafePointer<Float>) { _ = lstm.backward(featureGradient) }

    /// dL/d(input) of the last `backward` (when the input is not data).
    func backwardReturningInputGradient(_ featureGradient: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        lstm.backward(featureGradient)
    }

    public var finalHidden: UnsafeMutablePointer<Float> { lstm.finalHidden }
    public var finalCell: UnsafeMutablePointer<Float> { lstm.finalCell }
}


/// Ego-attention followed by an LSTM (partially observed driving): each step's entity set is attended to by the
/// ego, and the LSTM carries the attended features across steps. `prepare` (the sequence layout and state) goes to
/// the LSTM. Names: `attention.*` (the ego-attention encoder's), `recurrent.lstm.*`.
public final class AttentionLSTMEncoder: ObservationEncoder {
    public let attention: EgoAttentionEncoder
    public let recurrent: LSTMEncoder
    public var isTraining = true
    public var outputSize: Int { recurrent.outputSize }

    public init(entities: Int, features: Int, embedDimension: Int, heads: Int, hiddenSize: Int, rng: inout SeededGenerator) {
        attention = EgoAttentionEncoder(entities: entities, features: features, embedDimension: embedDimension, heads: heads, rng: &rng)
        recurrent = LSTMEncoder(inputSize: embedDimension, hiddenSize: hiddenSize, inputIsData: false, rng: &rng)
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        attention.namedParameters(prefix: prefix + "attention.") + recurrent.namedParameters(prefix: prefix + "recurrent.")
    }

    public func encode(_ observations: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        recurrent.encode(attention.encode(observations, rows: rows), rows: rows)
    }

    public func backward(_ featureGradient: UnsafePointer<Float>) {
        attention.backward(recurrent.backwardReturningInputGradient(featureGradient))
    }
}

extension EgoAttentionEncoder {
    /// The ego-attention encoder of an entity-set `space` (nil for any other space): one construction for every
    /// network that attends (Q-networks and actor-critic policies).
    static func make(for space: Space, embedDimension: Int, heads: Int, rng: inout SeededGenerator) -> EgoAttentionEncoder? {
        guard case .entitySet(let rows, let features) = space else { return nil }
        return EgoAttentionEncoder(entities: rows, features: features, embedDimension: embedDimension, heads: heads, rng: &rng)
    }
}
