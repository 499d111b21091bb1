import Agents
import Foundation
import Neural
import Sim
import Testing
import TestSupport

/// Dojo → PyTorch for DQN checkpoints: Q-networks written by Dojo (as `dojo train` writes them, `q_net.*`) load into
/// the equivalent torch modules (scripts/make_torch_fixtures.py, strict) and give the same Q-values.
@Suite struct QNetworkTorchTests {
    init() { pinBLASToOneThread() }

    @Test(arguments: [false, true])
    func dojoQNetworkLoadsInTorch(dueling: Bool) throws {
        var rng = SeededGenerator(seed: dueling ? 8 : 7)
        let network = QNetwork(observationSize: 5, actionCount: 3, hiddenSizes: [16, 16], dueling: dueling, rng: &rng)
        let name = dueling ? "dojo_qnet_dueling" : "dojo_qnet"
        let bytes = SafeTensors.encode(network.stateFile(prefix: "q_net."))
        let path = Fixtures.path("neural/\(name).safetensors")
        if ProcessInfo.processInfo.environment["DOJO_WRITE_FIXTURES"] == "1" {
            try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
            return
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes, "Dojo no longer writes the committed file")
        let io = try Fixtures.neural(name + "_torch_io")
        let q = network.forward(try io.scalars("input"), rows: 4)
        #expect(scaledError(q, try io.scalars("q_values")) <= Tolerance.forward)
    }
}
