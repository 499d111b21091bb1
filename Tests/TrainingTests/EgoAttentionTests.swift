import Agents
import Neural
import Sim
import Testing
import TestSupport

/// The ego-attention encoder on an entity-set observation: shapes, masking of absent entities, gradients through the
/// whole Q-network.
@Suite struct EgoAttentionTests {
    init() { pinBLASToOneThread() }

    let entities = 5, features = 4, batch = 3

    /// Entity sets with presence in feature 0; row 0 (ego) always present, rows 3-4 of sample 1 absent.
    func observations(_ rng: inout SeededGenerator) -> [Float] {
        var values = randomArray(batch * entities * features, &rng)
        for b in 0..<batch {
            for n in 0..<entities {
                let row = (b * entities + n) * features
                let present = !(b == 1 && n >= 3)
                values[row] = present ? 1 : 0
                if !present { for f in 1..<features { values[row + f] = 0 } }
            }
        }
        return values
    }

    func network(dueling: Bool = false, seed: UInt64 = 1) -> QNetwork {
        var rng = SeededGenerator(seed: seed)
        let encoder = EgoAttentionEncoder(entities: entities, features: features, embedDimension: 8, heads: 2, rng: &rng)
        return QNetwork(observationSize: entities * features, actionCount: 3, hiddenSizes: [16], dueling: dueling,
                        encoder: encoder, rng: &rng)
    }

    @Test("Shapes, names and attention weights: (B, N·F) → (B, actions); weights sum to 1 over present entities only")
    func shapesAndWeights() throws {
        var rng = SeededGenerator(seed: 2)
        let net = network()
        let x = observations(&rng)
        let q = Array(UnsafeBufferPointer(start: net.forward(x, rows: batch), count: batch * 3))
        #expect(q.allSatisfy { $0.isFinite })
        let names = net.namedParameters(prefix: "q_net.").map(\.name)
        #expect(names.prefix(6) == ["q_net.encoder.embedding.0.weight", "q_net.encoder.embedding.0.bias",
                                    "q_net.encoder.attention.in_proj_weight", "q_net.encoder.attention.in_proj_bias",
                                    "q_net.encoder.attention.out_proj.weight", "q_net.encoder.attention.out_proj.bias"])
        let encoder = try #require(net.encoder as? EgoAttentionEncoder)
        for b in 0..<batch {
            let weights = (0..<entities).map { encoder.attentionWeights[b * entities + $0] }
            #expect(abs(weights.reduce(0, +) - 1) < 1e-5)
            if b == 1 { #expect(weights[3] == 0 && weights[4] == 0) }
        }
    }

    @Test("Absent entities do not affect the Q-values; present ones do")
    func masking() {
        var rng = SeededGenerator(seed: 3)
        let net = network()
        var x = observations(&rng)
        let before = Array(UnsafeBufferPointer(start: net.forward(x, rows: batch), count: batch * 3))
        // Garbage in an absent row's features (sample 1, row 4): masked, so nothing changes.
        for f in 1..<features { x[(1 * entities + 4) * features + f] = 9 }
        let masked = Array(UnsafeBufferPointer(start: net.forward(x, rows: batch), count: batch * 3))
        #expect(masked == before)
        // Moving a present entity (sample 1, row 2) changes sample 1's Q-values only.
        x[(1 * entities + 2) * features + 1] += 1
        let moved = Array(UnsafeBufferPointer(start: net.forward(x, rows: batch), count: batch * 3))
        #expect(moved[3..<6] != before[3..<6])
        #expect(moved[0..<3] == before[0..<3] && moved[6..<9] == before[6..<9])
    }

    @Test("Finite-difference gradients through the attention Q-network (plain and dueling)", arguments: [false, true])
    func gradients(dueling: Bool) {
        var rng = SeededGenerator(seed: 4)
        let net = network(dueling: dueling, seed: 5)
        let x = observations(&rng)
        let weights = randomArray(batch * 3, &rng)
        for entry in net.namedParameters(prefix: "") { entry.parameter.zeroGrad() }
        _ = net.forward(x, rows: batch)
        net.backward(weights)
        // A small step: ReLUs (embedding and trunk) make the loss piecewise linear, and a large step straddles kinks.
        let failures = GradientCheck.check(net.namedParameters(prefix: "").map { CheckedValue($0.name, $0.parameter) },
                                           epsilon: 1e-3) {
            GradientCheck.weightedSum(net.forward(x, rows: batch), weights)
        }
        #expect(failures == [])
    }
}
