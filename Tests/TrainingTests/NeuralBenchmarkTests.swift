import Neural
import Testing
import TestSupport
@testable import Training

/// `dojo bench nn --profile`: each phase's products are counted and timed where they happen.
@Suite struct NeuralBenchmarkTests {
    init() { pinBLASToOneThread() }

    @Test("The profile counts each phase's matrix products: the MLP's layers, and attention's per-head products")
    func profileCountsProducts() throws {
        let workloads = NeuralBenchmark.workloads()
        func profile(_ name: String) throws -> NeuralBenchmark.Profile {
            NeuralBenchmark.profile(try #require(workloads.first { $0.name == name }), seconds: 0.02)
        }
        let mlp = try profile("mlp-small")
        // Forward: 3 layers. Backward: 3 weight gradients and 2 input gradients (the first layer's input is data).
        #expect(mlp.phases.map(\.productsPerIteration) == [3, 5, 0])
        #expect(mlp.phases[0].meanMultiplyAdds == Double(64 * 4 * 64 + 64 * 64 * 64 + 64 * 64 * 2) / 3)

        let attention = try profile("attention")
        // Batch 64, 4 heads: two products per head and sequence forward (scores, weighted values) and four backward;
        // projections: 3 in + 1 out forward, 3 weight slices + the out-projection's weight and input gradients backward.
        #expect(attention.phases.map(\.productsPerIteration) == [4 + 2 * 64 * 4, 5 + 4 * 64 * 4, 0])
        for phase in attention.phases + mlp.phases {
            #expect(phase.productMillisecondsPerIteration <= phase.millisecondsPerIteration, "\(phase.name)")
        }
        #expect(attention.millisecondsPerIteration > 0 && attention.phases[2].millisecondsPerIteration > 0)
    }
}
