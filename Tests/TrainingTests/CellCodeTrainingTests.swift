import Agents
import Foundation
import Neural
import Sim
import Testing
import TestSupport
@testable import Training

/// Agents on compact cell codes (`encoding=codes`) expand them into the planes the one-hot encoding gives, so they
/// learn exactly the same weights; the replay keeps the codes, one byte each.
@Suite(.serialized) struct CellCodeTrainingTests {
    init() { pinBLASToOneThread() }

    func gridworldDQN(encoding: String) -> RunConfig {
        var config = smallRun(steps: 2_000)
        config.env = "gridworld"
        config.envOptions = ["map": "key-door", "random_start": "true", "encoding": encoding]
        config.dqn.netArch = [32]
        return config
    }

    func tensors(_ path: String) throws -> [String: SafeTensors.Value] { try SafeTensors.read(from: path).tensors }

    @Test("DQN: codes and one-hot planes train bitwise-identical weights; the codes replay stops and resumes exactly")
    func dqnCodesMatchOneHot() throws {
        let planes = temporaryDirectory("planes"), codes = temporaryDirectory("codes"), resumed = temporaryDirectory("codes-resumed")
        _ = try DQNTrainer(config: gridworldDQN(encoding: "one-hot"), directory: planes).run()
        _ = try DQNTrainer(config: gridworldDQN(encoding: "codes"), directory: codes).run()
        let model = "checkpoints/last/model.safetensors", state = "checkpoints/last/state.safetensors"
        let weights = try tensors("\(codes)/\(model)")
        let planeWeights = try tensors("\(planes)/\(model)")
        #expect(weights.count > 2 && weights == planeWeights)
        #expect(try metricsTableWithoutTiming(codes) == metricsTableWithoutTiming(planes))
        // The replay keeps one byte per code (10 × 7 cells), not bits of the 12 planes.
        // The model card tells a reader outside Dojo how to expand the codes.
        let card = try SafeTensors.read(from: "\(codes)/\(model)").metadata["dojo.model"] ?? ""
        let encoder = try #require((try JSONSerialization.jsonObject(with: Data(card.utf8)) as? [String: Any])?["encoder"] as? [String: Any])
        #expect(encoder["type"] as? String == "cell_codes" && encoder["cells"] as? Int == 70 && encoder["planes"] as? Int == 12
                && encoder["marker_plane"] as? Int == 10 && encoder["output_size"] as? Int == 12 * 70 + 1, "\(encoder)")
        let codeState = try tensors("\(codes)/\(state)")
        #expect(codeState["buffer.observations_bytes_zlib"] != nil && codeState["buffer.observations_bits_zlib"] == nil)

        _ = try DQNTrainer(config: gridworldDQN(encoding: "codes"), directory: resumed).run(stopAt: 1_300)
        _ = try DQNTrainer(config: gridworldDQN(encoding: "codes"), directory: resumed, resume: true).run()
        for file in [model, state] { #expect(fileBytes("\(codes)/\(file)") == fileBytes("\(resumed)/\(file)"), "\(file) after resume") }
        // The greedy policy loads from the codes checkpoint and evaluates as the planes' does.
        let fromCodes = try TrainedRun(directory: codes).evaluate(episodes: 5, seed: 3).result
        let fromPlanes = try TrainedRun(directory: planes).evaluate(episodes: 5, seed: 3).result
        #expect(fromCodes.returns == fromPlanes.returns && fromCodes.lengths == fromPlanes.lengths)
    }

    @Test("PPO: codes and one-hot planes train bitwise-identical weights")
    func ppoCodesMatchOneHot() throws {
        func run(_ encoding: String) throws -> String {
            var config = smallActorCriticRun(agent: "ppo", env: "gridworld", steps: 1_024)
            config.envOptions = ["map": "four-rooms", "random_start": "true", "encoding": encoding]
            config.ppo.normalizeObservations = false
            let directory = temporaryDirectory("ppo-\(encoding)")
            _ = try ActorCriticTrainer(config: config, algorithm: .ppo, hyperparameters: config.ppo, directory: directory).run()
            return directory
        }
        let planes = try run("one-hot"), codes = try run("codes")
        let model = "checkpoints/last/model.safetensors"
        let weights = try tensors("\(codes)/\(model)")
        let planeWeights = try tensors("\(planes)/\(model)")
        #expect(weights.count > 2 && weights == planeWeights)
    }

    @Test("Codes need the mlp encoder: an lstm on codes is refused before training with what to change")
    func lstmOnCodesRefused() {
        var config = smallRecurrentRun()
        config.envOptions["encoding"] = "codes"
        let problems = config.problems()
        #expect(problems.contains { $0.contains("encoding=codes") && $0.contains("encoder: mlp") }, "\(problems)")
    }
}
