import CZlib
import Environments
import Foundation
@testable import Sim
import Testing
import TestSupport

/// Every registered environment, with its defaults and every variant its registry entry names: the tests below run
/// over all of them, so a new environment is checked by adding its registry line.
let checkedConfigurations: [(String, [String: String])] = EnvironmentRegistry.entries.flatMap { entry in
    entry.configurations.map { (entry.id, $0.options) }
}

@Suite struct EnvironmentContractTests {
    @Test("Every environment passes the checker", arguments: checkedConfigurations.indices)
    func checker(index: Int) throws {
        let (id, options) = checkedConfigurations[index]
        let problems = try EnvironmentChecker.check { try EnvironmentRegistry.make(id, options: options) }
        #expect(problems == [], "\(id) \(options)")
    }

    @Test("Every registered environment is checked, and describes itself: action names for discrete actions, a frame rate, metrics its info reports")
    func everyEnvironmentDescribed() throws {
        #expect(Set(checkedConfigurations.map(\.0)) == Set(EnvironmentRegistry.ids))
        for (id, options) in checkedConfigurations {
            let env = try EnvironmentRegistry.make(id, options: options)
            _ = env.reset(seed: 1)
            let metadata = env.metadata
            #expect(metadata.problems(actionSpace: env.actionSpace, infoKeys: Set(env.info.keys)) == [], "\(id) \(options)")
            if case .discrete(let n) = env.actionSpace { #expect(metadata.actionNames.count == n, "\(id) \(options)") }
        }
        // The highway draws its simulation frames between decisions: 15 Hz over 1 Hz by default, 5 over 1 when fast.
        #expect(try EnvironmentRegistry.make("highway").metadata.framesPerStep == 15)
        #expect(try EnvironmentRegistry.make("highway", options: ["scenario": "highway-fast"]).metadata.framesPerStep == 5)
        #expect(try EnvironmentRegistry.make("highway", options: ["policy_frequency": "5"]).metadata.framesPerStep == 3)
        #expect(try EnvironmentRegistry.make("highway").metadata.renderFPS == 15)
    }

    @Test("The checker catches a description that does not fit: wrong action names, a key outside the actions, a metric info lacks")
    func checkerCatchesBadMetadata() {
        let problems = EnvironmentChecker.check { MisdescribedEnvironment() }
        #expect(problems.contains { $0.contains("names 3 actions, the action space has 2") }, "\(problems)")
        #expect(problems.contains { $0.contains("outside 0..<2") }, "\(problems)")
        #expect(problems.contains { $0.contains("info[\"speed\"]") }, "\(problems)")
        #expect(problems.contains { $0.contains("no IntermediateFrames hook") }, "\(problems)")
    }

    @Test("The highway's intermediate-frame hook sees every simulation frame but the last, and changes nothing")
    func intermediateFrames() throws {
        let plain = try Highway(options: ["scenario": "highway-fast"]), hooked = try Highway(options: ["scenario": "highway-fast"])
        var frames = 0, egoPositions: [Double] = []
        hooked.onIntermediateFrame = { frames += 1; egoPositions.append(hooked.info["x"] ?? .nan) }
        _ = plain.reset(seed: 3); _ = hooked.reset(seed: 3)
        let start = hooked.info["x"] ?? .nan
        let a = plain.step([3]), b = hooked.step([3])
        #expect(frames == 4)
        #expect(a.observation == b.observation && a.result == b.result && plain.stateChecksum == hooked.stateChecksum)
        // The frames are the states in between: the ego moves forward through them.
        let end = hooked.info["x"] ?? .nan
        #expect(zip([start] + egoPositions, egoPositions + [end]).allSatisfy { $0 < $1 }, "\(start) \(egoPositions) \(end)")
        hooked.onIntermediateFrame = nil
    }

    @Test("The checker catches a broken environment (so its silence means something)")
    func checkerCatchesProblems() {
        let problems = EnvironmentChecker.check { NondeterministicEnvironment() }
        #expect(problems.contains { $0.contains("diverge") })
        #expect(problems.contains { $0.contains("outside") })
    }

    @Test("Identically seeded vectorized rollouts are bitwise identical, on one thread or two", arguments: checkedConfigurations.indices)
    func vectorDeterminism(index: Int) throws {
        let (id, options) = checkedConfigurations[index]
        func rollout(threads: Int) throws -> (observations: [UInt32], rewards: [Float], checksums: [UInt64]) {
            let vector = try VectorEnvironment(count: 16, threads: threads) { _ in
                AnyEnvironment(try EnvironmentRegistry.make(id, options: options))
            }
            vector.reset(seed: 42)
            var rng = SeededGenerator(seed: 9)
            var actions = [Float](repeating: 0, count: 16 * vector.actionWidth)
            var observations: [UInt32] = [], rewards: [Float] = []
            for _ in 0..<300 {
                for i in 0..<16 {
                    actions.withUnsafeMutableBufferPointer {
                        vector.environments[i].actionSpace.sample(into: $0.baseAddress! + i * vector.actionWidth, using: &rng)
                    }
                }
                vector.step(actions)
                let stepObservations = UnsafeBufferPointer(start: vector.observations, count: 16 * vector.observationSize)
                observations += stepObservations.map { (value: Float) in value.bitPattern }
                rewards += Array(UnsafeBufferPointer(start: vector.rewards, count: 16))
            }
            return (observations, rewards, vector.environments.map { (env: AnyEnvironment) in env.stateChecksum })
        }
        let a = try rollout(threads: 1), b = try rollout(threads: 1), c = try rollout(threads: 2)
        #expect(a.observations == b.observations && a.rewards == b.rewards && a.checksums == b.checksums)
        #expect(a.observations == c.observations && a.rewards == c.rewards && a.checksums == c.checksums)
    }

    @Test("Unknown environments, options and values are rejected with the valid ones listed")
    func optionErrors() throws {
        #expect(throws: OptionError.unknownEnvironment(name: "cartpol", valid: ["cartpole", "pendulum", "gridworld", "highway", "arm"])) {
            try EnvironmentRegistry.make("cartpol")
        }
        #expect(throws: OptionError.unknownOption(environment: "cartpole", name: "gravity",
                                                  valid: ["state", "velocity", "integrator", "sutton_barto_reward", "max_steps"])) {
            try EnvironmentRegistry.make("cartpole", options: ["gravity": "3"])
        }
        do {
            _ = try EnvironmentRegistry.make("gridworld", options: ["observation": "half"])
            Issue.record("accepted observation=half")
        } catch {
            #expect("\(error)" == "gridworld option observation=half: expected one of auto, full, partial")
        }
        #expect(throws: OptionError.self) { try EnvironmentRegistry.make("cartpole", options: ["state": "1,2,3"]) }
        #expect(throws: OptionError.malformed("view7")) { try parseOptionAssignments(["view7"]) }
        #expect(try parseOptionAssignments(["state=0,0,0.1,0", "map=a=b.txt"]) == ["state": "0,0,0.1,0", "map": "a=b.txt"])
    }
}

/// Deliberately broken: its observation leaves its space and its rewards depend on a counter shared by instances.
/// A sound environment whose metadata gets everything wrong.
final class MisdescribedEnvironment: Environment {
    let id = "misdescribed"
    let options = try! ResolvedOptions([:], specs: [], environment: "misdescribed")
    var observationSpace: Space { .box(low: 0, high: 1, shape: [1]) }
    var actionSpace: Space { .discrete(2) }
    var metadata: EnvironmentMetadata {
        EnvironmentMetadata(actionNames: ["A", "B", "C"], keyboard: [KeyBinding(.up, 5, "nothing")], framesPerStep: 3,
                            metrics: [EvaluationMetric("mean_speed", info: "speed", .meanOverSteps, unit: "m/s", label: "speed")])
    }
    func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) { observation[0] = 0 }
    func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        observation[0] = 0
        return StepResult(reward: 0, terminated: false)
    }
    var stateChecksum: UInt64 { 0 }
    var renderSize: (width: Int, height: Int) { (4, 4) }
    func render(into canvas: inout Canvas) { canvas.fill(.white); canvas.fillRect(x: 0, y: 0, width: 1, height: 1, .black) }
    func saveState() -> [UInt64] { [] }
    func restoreState(_ words: [UInt64]) throws {}
}

final class NondeterministicEnvironment: Environment {
    nonisolated(unsafe) static var shared = 0
    let id = "broken"
    let options = try! ResolvedOptions([:], specs: [], environment: "broken")
    var observationSpace: Space { .box(low: 0, high: 1, shape: [1]) }
    var actionSpace: Space { .discrete(2) }
    var renderSize: (width: Int, height: Int) { (4, 4) }
    var stateChecksum: UInt64 { 0 }
    func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) { observation[0] = 2 }
    func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        Self.shared += 1
        observation[0] = 2
        return StepResult(reward: Float(Self.shared), terminated: false)
    }
    func render(into canvas: inout Canvas) { canvas.fill(.red) }
    func saveState() -> [UInt64] { [] }
    func restoreState(_ words: [UInt64]) throws {}
}

@Suite struct ReplayTests {
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)").path
    }

    /// A random rollout of up to `steps` steps recorded as a replay.
    func record(_ id: String, _ options: [String: String], seed: UInt64, steps: Int) throws -> Replay {
        let env = try EnvironmentRegistry.make(id, options: options)
        let first = env.reset(seed: seed)
        var recorder = ReplayRecorder(environment: env, seed: seed, observation: first)
        var rng = SeededGenerator(seed: seed, stream: 5)
        var action = [Float](repeating: 0, count: env.actionSpace.actionWidth)
        for _ in 0..<steps {
            env.actionSpace.sample(into: &action, using: &rng)
            let (observation, result) = env.step(action)
            recorder.record(action: action, result: result, environment: env, observation: observation)
            if result.done { break }
        }
        return recorder.replay
    }

    @Test("A 1,000-step random rollout's replay verifies after a round trip through a file")
    func longReplayVerifies() throws {
        let replay = try record("gridworld", ["map": "maze", "size": "21", "max_steps": "5000"], seed: 3, steps: 1000)
        #expect(replay.stepCount == 1000)
        let path = temporaryPath("long.replay")
        try replay.write(to: path)
        let loaded = try Replay.read(from: path)
        #expect(loaded == replay)
        #expect(loaded.verify(on: try EnvironmentRegistry.make(for: loaded)) == .identical(steps: 1000))
    }

    @Test("A replay with one flipped action is reported divergent at that step")
    func flippedActionDiverges() throws {
        let replay = try record("gridworld", ["map": "maze", "size": "21", "max_steps": "5000"], seed: 3, steps: 1000)
        let observations = try #require(replay.observations)
        // Pick a step at which the agent moved: any other action then leads elsewhere.
        let index = try #require((500..<1000).first { observations[$0] != observations[$0 + 1] })
        var flipped = replay
        flipped.actions[index] = [Float((Int(replay.actions[index][0]) + 1) % 4)]
        #expect(flipped.verify(on: try EnvironmentRegistry.make(for: flipped)) == .diverged(
            step: index + 1, detail: {
                let env = try! EnvironmentRegistry.make(for: flipped)
                _ = env.reset(seed: 3)
                var last = StepResult(reward: 0, terminated: false)
                for action in flipped.actions[0...index] { last = env.step(action).result }
                return "reward \(last.reward) vs \(replay.rewards[index]), checksum \(env.stateChecksum.hex16) vs \(replay.checksums[index])"
            }()))
        // Cart-pole: every flip changes the state.
        let cartpole = try record("cartpole", [:], seed: 8, steps: 500)
        var flippedCartpole = cartpole
        flippedCartpole.actions[5][0] = 1 - cartpole.actions[5][0]
        if case .diverged(let step, _) = flippedCartpole.verify(on: try EnvironmentRegistry.make(for: cartpole)) {
            #expect(step == 6)
        } else {
            Issue.record("a flipped cart-pole action was not detected")
        }
    }

    @Test("Truncated, corrupted, future-version and unknown-environment replays give clear errors")
    func badReplays() throws {
        let replay = try record("cartpole", [:], seed: 1, steps: 50)
        let bytes = try replay.encoded()
        func readError(_ data: Data) -> String {
            let path = temporaryPath("bad.replay")
            try! data.write(to: URL(fileURLWithPath: path))
            do { _ = try Replay.read(from: path); return "no error" } catch { return "\(error)".replacingOccurrences(of: path, with: "FILE") }
        }
        #expect(readError(bytes.prefix(bytes.count / 2)).hasPrefix("FILE: not a valid Dojo replay: not a JSON object"))
        var future = replay
        future.version = 3
        #expect(readError(try future.encoded()) == "FILE: replay format version 3; this dojo reads version 2. Use the dojo that recorded it.")
        var short = replay
        short.rewards.removeLast()
        #expect(readError(try short.encoded()).contains("\(replay.stepCount) actions but \(replay.stepCount - 1) rewards"))
        var badChecksum = replay
        badChecksum.checksums[3] = "zz"
        #expect(readError(try badChecksum.encoded()).contains("checksum 3 is not 16 hex digits"))
        let missing = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"seed\"", with: "\"sead\"")
        #expect(readError(Data(missing.utf8)).contains("the field \"seed\" is missing"))
        var unknown = replay
        unknown.env = "pong"
        #expect(throws: OptionError.unknownEnvironment(name: "pong", valid: EnvironmentRegistry.ids)) {
            try EnvironmentRegistry.make(for: unknown)
        }
        #expect(readError(Data()).contains("not a JSON object"))
    }

    @Test("Recording never leaves a partial or temporary file")
    func atomicWrite() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try record("cartpole", [:], seed: 1, steps: 20).write(to: folder.appendingPathComponent("a.replay").path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["a.replay"])
        #expect(throws: ReplayError.self) { try record("cartpole", [:], seed: 1, steps: 20).write(to: "/no/such/folder/a.replay") }
    }
}

@Suite struct WrapperAndVectorTests {
    @Test("TimeLimit truncates at the limit; EpisodeStatistics records return and length")
    func timeLimitAndStatistics() throws {
        let env = EpisodeStatistics(TimeLimit(try CartPole(options: ["state": "0,0,0,0"]), maxSteps: 3))
        _ = env.reset(seed: 0)
        var last = StepResult(reward: 0, terminated: false)
        for action: Float in [0, 1, 0] { last = env.step([action]).result }
        #expect(last.truncated && !last.terminated)
        #expect(env.lastEpisode?.return == 3 && env.lastEpisode?.length == 3 && env.finishedEpisodes == 1)
    }

    @Test("NormalizeObservation tracks the running mean and variance and freezes when not updating")
    func normalization() throws {
        let env = NormalizeObservation(TimeLimit(try CartPole(options: [:]), maxSteps: 500))
        var rng = SeededGenerator(seed: 1)
        var raw: [[Float]] = []
        let inner = env.inner.inner
        _ = env.reset(seed: 1)
        raw.append([Float(inner.state.x), Float(inner.state.xDot), Float(inner.state.theta), Float(inner.state.thetaDot)])
        for _ in 0..<200 {
            let result = env.step([Float(rng.nextInt(below: 2))]).result
            raw.append([Float(inner.state.x), Float(inner.state.xDot), Float(inner.state.theta), Float(inner.state.thetaDot)])
            if result.done {  // the reset observation is counted too
                _ = env.reset(seed: nil)
                raw.append([Float(inner.state.x), Float(inner.state.xDot), Float(inner.state.theta), Float(inner.state.thetaDot)])
            }
        }
        for k in 0..<4 {
            let values = raw.map { Double($0[k]) }
            let mean = values.reduce(0, +) / Double(values.count)
            #expect(abs(env.statistics.mean[k] - mean) < 1e-3, "mean \(k)")
        }
        env.isUpdating = false
        let frozen = env.statistics
        _ = env.step([1])
        #expect(env.statistics == frozen)
    }

    @Test("FrameStack keeps the last frames oldest first; ActionRepeat sums rewards and stops at the end")
    func stackAndRepeat() throws {
        let stacked = FrameStack(try CartPole(options: ["state": "0,0,0,0"]), count: 3)
        let first = stacked.reset(seed: 0)
        #expect(first == [Float](repeating: 0, count: 12))
        let second = stacked.step([1]).observation
        let inner = stacked.inner.state
        #expect(Array(second[0..<8]) == [Float](repeating: 0, count: 8))
        #expect(Array(second[8..<12]) == [Float(inner.x), Float(inner.xDot), Float(inner.theta), Float(inner.thetaDot)])
        let third = stacked.step([1]).observation
        #expect(Array(third[4..<8]) == Array(second[8..<12]))

        let repeated = ActionRepeat(try CartPole(options: ["state": "0,0,0,0"]), count: 4)
        _ = repeated.reset(seed: 0)
        #expect(repeated.step([1]).result.reward == 4)
        let reference = try CartPole(options: ["state": "0,0,0,0"])
        _ = reference.reset(seed: 0)
        for _ in 0..<4 { _ = reference.step([1]) }
        #expect(repeated.inner.state == reference.state)
    }

    @Test("Autoreset keeps the final observation and episode statistics, and the next episode starts at once")
    func autoreset() throws {
        let vector = try VectorEnvironment(count: 2) { _ in TimeLimit(try CartPole(options: ["state": "0,0,0.2,0"]), maxSteps: 500) }
        vector.reset(seed: 0)
        var steps = 0
        repeat { vector.step([1, 1]); steps += 1 } while !vector.terminated[0] && steps < 100
        #expect(vector.terminated[0] && vector.terminated[1])
        #expect(vector.finishedLengths[0] == steps && vector.finishedReturns[0] == Double(steps))
        #expect(abs(vector.finalObservations[2]) > Float(CartPole.thetaThreshold))  // the pole had fallen
        #expect(vector.observations[2] == 0.2 && vector.episodeLengths[0] == 0)      // new episode's first observation
    }

    @Test("Next-step and disabled autoreset: each copy plays what a single environment reset by hand plays, split or not",
          arguments: [1, 2])
    func autoresetModes(threads: Int) throws {
        let options = ["map": "key-door", "max_steps": "12"]
        for mode in [AutoresetMode.nextStep, .disabled] {
            let vector = try VectorEnvironment(count: 16, threads: threads) { _ in
                AnyEnvironment(try EnvironmentRegistry.make("gridworld", options: options))
            }
            vector.autoreset = mode
            vector.minimumBlockNanoseconds = 0
            vector.adaptive = false
            vector.reset(seed: 5)
            let size = vector.observationSize
            let singles = try (0..<16).map { _ in try EnvironmentRegistry.make("gridworld", options: options) }
            var observation = [Float](repeating: 0, count: size)
            func matches(_ copy: Int) -> Bool {
                Array(UnsafeBufferPointer(start: vector.observations + copy * size, count: size)) == observation
            }
            for (copy, single) in singles.enumerated() {
                single.reset(seed: VectorEnvironment<AnyEnvironment>.copySeed(5, index: copy), observation: &observation)
                #expect(matches(copy))
            }
            guard case .discrete(let choices) = vector.environments[0].actionSpace else { Issue.record("discrete actions expected"); return }
            var generator = SeededGenerator(seed: 9)
            var actions = [Float](repeating: 0, count: 16), ended = [Bool](repeating: false, count: 16), episodes = 0
            for _ in 0..<80 {
                for copy in 0..<16 { actions[copy] = Float(generator.next() % UInt64(choices)) }
                if mode == .disabled {
                    for copy in 0..<16 where vector.ended[copy] { vector.reset(copy: copy, seed: nil) }
                }
                vector.step(actions)
                for (copy, single) in singles.enumerated() {
                    var expected = StepResult(reward: 0, terminated: false)  // next-step's resetting step
                    if ended[copy] {
                        single.reset(seed: nil, observation: &observation)
                        ended[copy] = false
                        if mode == .disabled { expected = single.step([actions[copy]], observation: &observation) }
                    } else {
                        expected = single.step([actions[copy]], observation: &observation)
                    }
                    if expected.done { ended[copy] = true; episodes += 1 }
                    #expect(matches(copy) && vector.rewards[copy] == expected.reward, "\(mode) copy \(copy)")
                    #expect(vector.terminated[copy] == expected.terminated && vector.truncated[copy] == expected.truncated)
                    #expect(vector.ended[copy] == ended[copy])
                }
            }
            #expect(episodes >= 32, "\(mode): the comparison should cross many episode ends")
        }
    }

    /// Environments whose copies a vector steps together (``BatchSteppable``), with every variant.
    static let batchSteppedConfigurations = checkedConfigurations.indices.filter { ["cartpole", "pendulum"].contains(checkedConfigurations[$0].0) }

    @Test("Copies stepped together in lanes play exactly what each copy plays alone, in every autoreset mode, split or not",
          arguments: batchSteppedConfigurations)
    func batchStepping(index: Int) throws {
        let (id, options) = checkedConfigurations[index]
        let count = 27  // runs of four-lane groups with a tail of three
        for mode in AutoresetMode.allCases {
            for threads in [1, 2] {
                let vector = try VectorEnvironment(count: count, threads: threads) { _ in
                    AnyEnvironment(try EnvironmentRegistry.make(id, options: options))
                }
                #expect(vector.stepsTogether, "\(id) \(options) should step its copies together")
                vector.autoreset = mode
                (vector.minimumBlockNanoseconds, vector.adaptive) = (0, false)  // split at every step on two threads
                vector.reset(seed: 7)
                let singles = try (0..<count).map { copy in
                    let single = try EnvironmentRegistry.make(id, options: options)
                    _ = single.reset(seed: VectorEnvironment<AnyEnvironment>.copySeed(7, index: copy))
                    return single
                }
                let (size, width) = (vector.observationSize, vector.actionWidth)
                var observation = [Float](repeating: 0, count: size), actions = [Float](repeating: 0, count: count * width)
                var ended = [Bool](repeating: false, count: count), generator = SeededGenerator(seed: 3), episodes = 0
                for _ in 0..<120 {
                    actions.withUnsafeMutableBufferPointer { buffer in
                        for copy in 0..<count { singles[copy].actionSpace.sample(into: buffer.baseAddress! + copy * width, using: &generator) }
                    }
                    if mode == .disabled {
                        for copy in 0..<count where vector.ended[copy] { vector.reset(copy: copy, seed: nil) }
                    }
                    vector.step(actions)
                    for (copy, single) in singles.enumerated() {
                        var expected = StepResult(reward: 0, terminated: false)  // next-step's resetting step
                        let action = Array(actions[copy * width..<(copy + 1) * width])
                        if ended[copy] {
                            single.reset(seed: nil, observation: &observation)
                            ended[copy] = false
                            if mode == .disabled { expected = single.step(action, observation: &observation) }
                        } else {
                            expected = single.step(action, observation: &observation)
                        }
                        if expected.done {
                            episodes += 1
                            let final = Array(UnsafeBufferPointer(start: vector.finalObservations + copy * size, count: size))
                            #expect(final.map(\.bitPattern) == observation.map(\.bitPattern), "\(mode) copy \(copy)'s final observation")
                            if mode == .sameStep { single.reset(seed: nil, observation: &observation) } else { ended[copy] = true }
                        }
                        let row = Array(UnsafeBufferPointer(start: vector.observations + copy * size, count: size))
                        #expect(row.map(\.bitPattern) == observation.map(\.bitPattern) && vector.rewards[copy] == expected.reward,
                                "\(id) \(mode) \(threads) threads, copy \(copy)")
                        #expect(vector.terminated[copy] == expected.terminated && vector.truncated[copy] == expected.truncated)
                        #expect(vector.ended[copy] == ended[copy])
                        #expect(vector.environments[copy].stateChecksum == single.stateChecksum)
                    }
                }
                if id == "cartpole" { #expect(episodes >= 3 * count, "\(mode): the comparison should cross many episode ends") }
            }
        }
    }

    @Test("Copies that integrate, reward or observe differently are stepped one by one")
    func mixedCopiesAreNotBatched() throws {
        let vector = try VectorEnvironment(count: 8) { copy in
            AnyEnvironment(try EnvironmentRegistry.make("cartpole", options: copy == 5 ? ["integrator": "semi-implicit"] : [:]))
        }
        #expect(!vector.stepsTogether)
        for odd in [["sutton_barto_reward": "true"], ["velocity": "false"]] {
            let copies = try (0..<8).map { try CartPole(options: $0 == 5 ? odd : [:]) }
            #expect(CartPole.batchStepper(for: copies) == nil, "\(odd)")
        }
        let uniform = try VectorEnvironment(count: 8) { _ in try CartPole(options: ["integrator": "semi-implicit"]) }
        #expect(uniform.stepsTogether)
    }

    @Test("Vectorized stepping allocates nothing per step, on one thread or two", arguments: [1, 2])
    func noAllocationPerStep(threads: Int) throws {
        for (id, options) in checkedConfigurations {
            let vector = try VectorEnvironment(count: 32, threads: threads) { _ in
                AnyEnvironment(try EnvironmentRegistry.make(id, options: options))
            }
            vector.reset(seed: 1)
            var actions = [Float](repeating: 1, count: 32 * vector.actionWidth)  // 1: a valid action everywhere
            vector.step(actions)
            let allocations = actions.withUnsafeMutableBufferPointer { buffer in
                allocationCount { for _ in 0..<200 { vector.step(buffer.baseAddress!) } }
            }
            #expect(allocations == 0, "\(id) \(options): \(allocations) allocations in 200 steps")
            // Reading every copy's info allocates nothing either, and says what `info` says.
            let keys = vector.environments[0].infoKeys
            var values = [Double](repeating: 0, count: 32 * keys.count)
            let infoAllocations = values.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                let readAll = { for copy in 0..<32 { vector.environments[copy].writeInfo(into: base + copy * keys.count) } }
                readAll()  // the gridworld searches its optimal return once an episode, at the first request
                return allocationCount(readAll)
            }
            #expect(infoAllocations == 0, "\(id) \(options): writeInfo allocated \(infoAllocations) times")
            let expected = Dictionary(uniqueKeysWithValues: zip(keys, values.prefix(keys.count)).filter { !$0.1.isNaN })
            #expect(!keys.isEmpty && vector.environments[0].info == expected, "\(id) \(options)")
            actions[0] = 0
        }
    }
}

@Suite struct CanvasTests {
    @Test("Primitives draw where they should")
    func primitives() {
        var canvas = Canvas(width: 20, height: 10, background: .black)
        canvas.fillRect(x: 2, y: 2, width: 3, height: 2, .red)
        #expect(canvas.pixel(x: 2, y: 2) == .red && canvas.pixel(x: 4, y: 3) == .red && canvas.pixel(x: 5, y: 3) == .black)
        canvas.fillCircle(centerX: 15, centerY: 5, radius: 3, .green)
        #expect(canvas.pixel(x: 15, y: 5) == .green && canvas.pixel(x: 19, y: 5) == .black)
        canvas.line(from: (0, 9.5), to: (20, 9.5), thickness: 1, .blue)
        #expect(canvas.pixel(x: 10, y: 9) == .blue)
        canvas.fillRect(x: 0, y: 0, width: 1, height: 1, Color.white.withAlpha(128))
        #expect(canvas.pixel(x: 0, y: 0) == Color(128, 128, 128))
        var text = Canvas(width: 12, height: 7)
        text.text("1", x: 0, y: 0, .white)
        #expect(text.pixel(x: 2, y: 0) == .white && text.pixel(x: 0, y: 0) == .black && text.pixel(x: 1, y: 6) == .white)
    }

    @Test("PNG output has a valid signature, chunk CRCs and pixel data that decompresses to the frame")
    func png() throws {
        let env = try EnvironmentRegistry.make("gridworld", options: ["map": "key-door"])
        _ = env.reset(seed: 0)
        let frame = env.renderFrame()
        let png = [UInt8](frame.pngData())
        #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var offset = 8, idat: [UInt8] = [], types: [String] = []
        func bigEndian(_ at: Int) -> Int {
            var value = 0
            for k in 0..<4 { value = value << 8 | Int(png[at + k]) }
            return value
        }
        while offset < png.count {
            let length = bigEndian(offset)
            let typed = Array(png[(offset + 4)..<(offset + 8 + length)])
            let stored = UInt32(bigEndian(offset + 8 + length))
            #expect(UInt32(crc32(0, typed, uInt(typed.count))) == stored)
            let type = String(decoding: typed[0..<4], as: UTF8.self)
            types.append(type)
            if type == "IDAT" { idat += typed[4...] }
            offset += 12 + length
        }
        #expect(types == ["IHDR", "IDAT", "IEND"])
        var rawLength = uLong(frame.height * (frame.width * 4 + 1))
        var raw = [UInt8](repeating: 0, count: Int(rawLength))
        #expect(uncompress(&raw, &rawLength, idat, uLong(idat.count)) == Z_OK)
        let stride = frame.width * 4 + 1
        var rows: [UInt8] = []
        for y in 0..<frame.height { rows += raw[(y * stride + 1)..<((y + 1) * stride)] }
        #expect(rows == frame.pixels)
    }
}

@Suite struct ReplayLibraryTests {
    /// The committed `replays/` folder, beside `Tests/`.
    static var folder: String { URL(fileURLWithPath: Fixtures.root).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("replays").path }

    @Test("Every committed replay in replays/ re-simulates exactly, and each is small")
    func committedReplaysVerify() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder).filter { $0.hasSuffix(".replay") }.sorted()
        #expect(files.count >= 5, "replays/ holds \(files.count) replays")
        for name in files {
            let path = Self.folder + "/" + name
            let replay = try Replay.read(from: path)
            let result = replay.verify(on: try EnvironmentRegistry.make(for: replay))
            #expect(result == .identical(steps: replay.stepCount), "\(name): \(result)")
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            #expect(size < 400_000, "\(name) is \(size) bytes")
        }
    }
}
