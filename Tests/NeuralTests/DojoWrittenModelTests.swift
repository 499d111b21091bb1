import Foundation
import Neural
import SeededRandom
import Testing
import TestSupport

/// A model with every kind of state Dojo writes (Linear, LayerNorm, BatchNorm with running statistics, LSTM,
/// attention), under the names of the torch `nn.ModuleDict` in scripts/make_torch_fixtures.py.
final class FixtureModel: Module {
    let encoder: Sequential
    let norm = BatchNorm(features: 8)
    let lstm: LSTM
    let attention: MultiHeadAttention
    var isTraining: Bool {
        get { encoder.isTraining }
        set { encoder.isTraining = newValue; norm.isTraining = newValue; lstm.isTraining = newValue; attention.isTraining = newValue }
    }

    init(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        encoder = Sequential([Linear(inputFeatures: 6, outputFeatures: 8, rng: &rng), LayerNorm(features: 8),
                              Activation(.tanh, features: 8), Linear(inputFeatures: 8, outputFeatures: 8, rng: &rng)])
        lstm = LSTM(inputSize: 8, hiddenSize: 8, rng: &rng)
        attention = MultiHeadAttention(embedDimension: 8, headCount: 2, rng: &rng)
        // Non-trivial LayerNorm affine and BatchNorm running statistics.
        let layerNorm = encoder.layers[1] as! LayerNorm
        Initializer.normal(mean: 1, std: 0.2).fill(layerNorm.weight, using: &rng)
        Initializer.normal(mean: 0, std: 0.2).fill(layerNorm.bias, using: &rng)
        _ = norm.forward(randomArray(10 * 8, scale: 2, &rng), rows: 10)
    }

    func namedParameters(prefix: String) -> [NamedParameter] {
        encoder.namedParameters(prefix: prefix + "encoder.") + norm.namedParameters(prefix: prefix + "norm.")
            + lstm.namedParameters(prefix: prefix + "lstm.") + attention.namedParameters(prefix: prefix + "attention.")
    }

    func namedBuffers(prefix: String) -> [NamedBuffer] { norm.namedBuffers(prefix: prefix + "norm.") }
}

@Suite struct DojoWrittenModelTests {
    init() { pinBLASToOneThread() }

    /// Dojo → PyTorch: the committed file is what Dojo writes today (byte for byte), and the outputs PyTorch computed
    /// after loading it with strict=True equal Dojo's.
    @Test func dojoWrittenModel() throws {
        let model = FixtureModel(seed: 2026)
        let bytes = SafeTensors.encode(model.stateFile(metadata: ["writer": "dojo"]))
        let path = Fixtures.path("neural/dojo_model.safetensors")
        if ProcessInfo.processInfo.environment["DOJO_WRITE_FIXTURES"] == "1" {
            try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
            return  // scripts/make_torch_fixtures.py now records PyTorch's outputs for this file
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes, "Dojo no longer writes the committed file")

        let io = try Fixtures.neural("dojo_model_torch_io")
        model.isTraining = false
        let x = try io.scalars("input")
        let encoded = model.encoder.forward(x, rows: 6)
        #expect(scaledError(encoded, try io.scalars("encoded")) <= Tolerance.forward)
        let normed = model.norm.forward(encoded, rows: 6)
        #expect(scaledError(normed, try io.scalars("normed")) <= Tolerance.forward)
        let sequence = model.lstm.forward(normed, batch: 2, steps: 3)
        #expect(scaledError(sequence, try io.scalars("lstm")) <= Tolerance.forward)
        let attended = model.attention.forward(query: sequence, key: sequence, value: sequence, batch: 2,
                                               queryLength: 3, keyLength: 3)
        #expect(scaledError(attended, try io.scalars("attention")) <= Tolerance.forward)
    }
}
