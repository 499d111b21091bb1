import DojoC
import Environments
import Foundation
import Sim
import Testing
import TestSupport

/// The calling thread's last error message.
private func lastError() -> String { dojo_last_error().map { String(cString: $0) } ?? "" }

/// A vector through the C interface, with its sizes read from its JSON description.
private struct CVector: @unchecked Sendable {
    let pointer: OpaquePointer
    let copies: Int, observationSize: Int, actionWidth: Int, infoKeys: [String], renderCount: Int

    init?(_ id: String, options: String? = nil, copies: Int32, threads: Int32 = 1) {
        guard let pointer = dojo_vector_create(id, options, copies, threads),
              let text = dojo_vector_describe(pointer),
              let description = try? JSONSerialization.jsonObject(with: Data(String(cString: text).utf8)) as? [String: Any],
              let observationSize = description["observation_size"] as? Int, let actionWidth = description["action_width"] as? Int,
              let infoKeys = description["info_keys"] as? [String], let width = description["render_width"] as? Int,
              let height = description["render_height"] as? Int else { return nil }
        self.pointer = pointer
        self.copies = Int(copies)
        self.observationSize = observationSize
        self.actionWidth = actionWidth
        self.infoKeys = infoKeys
        renderCount = width * height * 3
    }

    /// Resets and steps `steps` times with actions from `actions(step)`; returns every observation, reward and flag.
    func rollout(seed: UInt64, steps: Int, actions: (Int) -> [Float]) -> (observations: [UInt32], rewards: [Float], flags: [UInt8]) {
        var observations = [Float](repeating: 0, count: copies * observationSize)
        var rewards = [Float](repeating: 0, count: copies), terminated = [UInt8](repeating: 0, count: copies), truncated = terminated
        var all: [UInt32] = [], allRewards: [Float] = [], flags: [UInt8] = []
        guard dojo_vector_reset(pointer, seed, &observations, Int64(observations.count)) == 0 else { return ([], [], []) }
        all += observations.map(\.bitPattern)
        for step in 0..<steps {
            let action = actions(step)
            guard dojo_vector_step(pointer, action, Int64(action.count), &observations, nil, Int64(observations.count), &rewards,
                                   &terminated, &truncated, Int64(copies)) == 0 else { return ([], [], []) }
            all += observations.map(\.bitPattern)
            allRewards += rewards
            flags += terminated + truncated
        }
        return (all, allRewards, flags)
    }
}

@Suite(.serialized) struct CInterfaceTests {
    @Test("Versions and the environment list")
    func versionsAndEnvironments() throws {
        #expect(dojo_abi_version() == 2 && String(cString: dojo_version()).split(separator: ".").count == 3)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(String(cString: dojo_environments_json()).utf8)) as? [[String: Any]])
        #expect(list.compactMap { $0["id"] as? String } == EnvironmentRegistry.ids)
        #expect(list.allSatisfy { ($0["options"] as? [[String: Any]])?.isEmpty == false && $0["action_space"] as? String != "" })
    }

    @Test("Stepping through the C interface is bitwise the vector environment's, for every environment",
          arguments: EnvironmentRegistry.ids)
    func matchesVectorEnvironment(id: String) throws {
        let copies = 3, steps = 150
        let c = try #require(CVector(id, copies: Int32(copies), threads: 2), "\(lastError())")
        defer { dojo_vector_destroy(c.pointer) }
        let reference = try VectorEnvironment(count: copies) { _ in AnyEnvironment(try EnvironmentRegistry.make(id)) }
        let space = reference.environments[0].actionSpace
        var rng = SeededGenerator(seed: 11)
        let width = space.actionWidth
        let actionRows = (0..<steps).map { _ in
            var row = [Float](repeating: 0, count: copies * width)
            for copy in 0..<copies { row.withUnsafeMutableBufferPointer { space.sample(into: $0.baseAddress! + copy * width, using: &rng) } }
            return row
        }
        let viaC = c.rollout(seed: 42, steps: steps) { actionRows[$0] }
        #expect(!viaC.observations.isEmpty, "\(lastError())")
        reference.reset(seed: 42)
        var observations = Array(UnsafeBufferPointer(start: reference.observations, count: copies * c.observationSize)).map(\.bitPattern)
        var rewards: [Float] = [], flags: [UInt8] = []
        for step in 0..<steps {
            reference.step(actionRows[step])
            observations += UnsafeBufferPointer(start: reference.observations, count: copies * c.observationSize).map(\.bitPattern)
            rewards += UnsafeBufferPointer(start: reference.rewards, count: copies)
            flags += (0..<copies).map { reference.terminated[$0] ? 1 : 0 } + (0..<copies).map { reference.truncated[$0] ? 1 : 0 }
        }
        #expect(viaC.observations == observations && viaC.rewards == rewards && viaC.flags == flags, "\(id)")
        // Info and render of one copy.
        var info = [Double](repeating: 0, count: c.infoKeys.count)
        #expect(dojo_vector_info(c.pointer, 1, &info, Int64(info.count)) == 0, "\(lastError())")
        var rgb = [UInt8](repeating: 0, count: c.renderCount)
        #expect(dojo_vector_render(c.pointer, 2, &rgb, Int64(rgb.count)) == 0 && Set(rgb).count > 1, "\(lastError())")
    }

    @Test("A copy reset with an explicit seed plays the episode a single environment (dojo rollout --seed) plays",
          arguments: EnvironmentRegistry.ids)
    func explicitSeedsMatchSingleEnvironment(id: String) throws {
        let c = try #require(CVector(id, copies: 1), "\(lastError())")
        defer { dojo_vector_destroy(c.pointer) }
        let single = try EnvironmentRegistry.make(id)
        var observation = [Float](repeating: 0, count: c.observationSize), viaC = observation
        single.reset(seed: 77, observation: &observation)
        #expect(dojo_vector_reset_seeds(c.pointer, [77], 1, &viaC, Int64(viaC.count)) == 0, "\(lastError())")
        #expect(viaC.map(\.bitPattern) == observation.map(\.bitPattern))
        var rng = SeededGenerator(seed: 5)
        var action = [Float](repeating: 0, count: c.actionWidth), reward: [Float] = [0], terminated: [UInt8] = [0], truncated: [UInt8] = [0]
        for _ in 0..<100 {
            action.withUnsafeMutableBufferPointer { single.actionSpace.sample(into: $0.baseAddress!, using: &rng) }
            let result = single.step(action, observation: &observation)
            #expect(dojo_vector_step(c.pointer, action, Int64(action.count), &viaC, nil, Int64(viaC.count), &reward, &terminated,
                                     &truncated, 1) == 0)
            #expect(reward[0] == result.reward && (terminated[0] == 1) == result.terminated)
            if result.done { break }
            #expect(viaC.map(\.bitPattern) == observation.map(\.bitPattern))
        }
        #expect(dojo_vector_reset_seeds(c.pointer, [1, 2], 2, &viaC, Int64(viaC.count)) == -1 && lastError().contains("seeds holds 2"))
    }

    @Test("Bad input fails with a message and changes nothing; a destroyed handle is an error, not a crash")
    func badInput() throws {
        #expect(dojo_vector_create("cartpol", nil, 1, 1) == nil && lastError().contains("cartpole"), "\(lastError())")
        #expect(dojo_vector_create("gridworld", #"{"map": "nowhere-map"}"#, 1, 1) == nil && lastError().contains("map"), "\(lastError())")
        #expect(dojo_vector_create("gridworld", "[1, 2]", 1, 1) == nil && lastError().contains("options_json must be a JSON object"))
        #expect(dojo_vector_create("cartpole", nil, 0, 1) == nil && lastError().contains("copies must be in 1...1024"))
        #expect(dojo_vector_create(nil, nil, 1, 1) == nil && lastError().contains("id is NULL"))

        let c = try #require(CVector("cartpole", copies: 2), "\(lastError())")
        var observations = [Float](repeating: 0, count: 2 * c.observationSize)
        var rewards = [Float](repeating: 0, count: 2), terminated = [UInt8](repeating: 0, count: 2), truncated = terminated
        #expect(dojo_vector_step(c.pointer, [0, 1], 2, &observations, nil, Int64(observations.count), &rewards, &terminated,
                                 &truncated, 2) == -1 && lastError().contains("step before reset"))
        #expect(dojo_vector_reset(c.pointer, 1, &observations, 3) == -1 && lastError().contains("observations holds 3 elements"))
        #expect(dojo_vector_reset(c.pointer, 1, &observations, Int64(observations.count)) == 0)
        let before = observations
        #expect(dojo_vector_step(c.pointer, [0, 2], 2, &observations, nil, Int64(observations.count), &rewards, &terminated,
                                 &truncated, 2) == -1 && lastError().contains("copy 1's action"), "\(lastError())")
        #expect(dojo_vector_step(c.pointer, [0, .nan], 2, &observations, nil, Int64(observations.count), &rewards, &terminated,
                                 &truncated, 2) == -1)
        #expect(dojo_vector_step(c.pointer, [0], 1, &observations, nil, Int64(observations.count), &rewards, &terminated,
                                 &truncated, 2) == -1 && lastError().contains("actions holds 1 elements"))
        #expect(observations == before)
        var info = [Double](repeating: 0, count: 99)
        #expect(dojo_vector_info(c.pointer, 5, &info, 99) == -1 && lastError().contains("copy 5 is outside"))
        #expect(dojo_vector_render(c.pointer, 0, nil, 0) == -1)

        dojo_vector_destroy(c.pointer)
        #expect(dojo_vector_reset(c.pointer, 1, &observations, Int64(observations.count)) == -1
                && lastError().contains("not a live vector"))
        #expect(dojo_vector_describe(c.pointer) == nil)
        dojo_vector_destroy(c.pointer)  // twice: ignored
        dojo_vector_destroy(nil)
        // A destroyed handle stays dead while new vectors are made (the allocator hands out freed addresses again).
        for _ in 0..<20 {
            let again = try #require(CVector("cartpole", copies: 2))
            defer { dojo_vector_destroy(again.pointer) }
            #expect(again.pointer != c.pointer && dojo_vector_describe(c.pointer) == nil)
        }
    }

    @Test("A copy recorded through the C interface writes a replay that re-simulates bit for bit; no file is ever replaced")
    func recording() throws {
        let c = try #require(CVector("highway", options: #"{"scenario": "highway-fast"}"#, copies: 2), "\(lastError())")
        defer { dojo_vector_destroy(c.pointer) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("c-record-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var observations = [Float](repeating: 0, count: 2 * c.observationSize)
        var rewards = [Float](repeating: 0, count: 2), terminated = [UInt8](repeating: 0, count: 2), truncated = terminated
        #expect(dojo_vector_reset_seeds(c.pointer, [3, 4], 2, &observations, Int64(observations.count)) == 0)
        #expect(dojo_vector_record(c.pointer, 1, folder + "/a.replay") == -1 && lastError().contains("next_step or disabled"))
        #expect(dojo_vector_set_autoreset(c.pointer, 7) == -1 && lastError().contains("DOJO_AUTORESET_NEXT_STEP (1)"))
        #expect(dojo_vector_set_autoreset(c.pointer, 1) == 0)
        #expect(dojo_vector_reset_seeds(c.pointer, nil, 0, &observations, Int64(observations.count)) == 0)
        #expect(dojo_vector_record(c.pointer, 1, folder + "/a.replay") == -1 && lastError().contains("did not start from a seed"))
        #expect(dojo_vector_reset_seeds(c.pointer, [3, 4], 2, &observations, Int64(observations.count)) == 0)
        FileManager.default.createFile(atPath: folder + "/taken.replay", contents: Data("mine".utf8))
        #expect(dojo_vector_record(c.pointer, 1, folder + "/taken.replay") == -1 && lastError().contains("never replaces"))
        #expect(try String(contentsOfFile: folder + "/taken.replay", encoding: .utf8) == "mine")
        #expect(dojo_vector_record(c.pointer, 1, folder + "/a.replay") == 0)
        #expect(dojo_vector_record(c.pointer, 1, folder + "/b.replay") == -1 && lastError().contains("recorded already"))
        var steps = 0
        while steps < 40 && truncated[1] == 0 && terminated[1] == 0 {
            #expect(dojo_vector_step(c.pointer, [1, Float(steps % 5)], 2, &observations, nil, Int64(observations.count), &rewards,
                                     &terminated, &truncated, 2) == 0)
            steps += 1
        }
        #expect(dojo_vector_record(c.pointer, 1, nil) == 0)  // stops (the file was written at the episode's end, or now)
        let replay = try Replay.read(from: folder + "/a.replay")
        #expect(replay.seed == "4" && replay.stepCount == steps)
        #expect(replay.verify(on: try EnvironmentRegistry.make(replay.env, options: replay.options)) == .identical(steps: steps))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["a.replay", "taken.replay"])
    }

    @Test("Hostile text: bytes that are not UTF-8, NULs, booleans and oversized options are refused or kept as sent")
    func hostileText() throws {
        let notUTF8: [CChar] = [0x63, -1, 0x61, 0]  // "c\xFFa"
        #expect(dojo_vector_create(notUTF8, nil, 1, 1) == nil && lastError().contains("id is not valid UTF-8"), "\(lastError())")
        #expect(dojo_policy_load(notUTF8, nil) == nil && lastError().contains("run_directory is not valid UTF-8"), "\(lastError())")
        #expect(dojo_vector_create("cartpole", #"{"max_steps": true}"#, 1, 1) == nil && lastError().contains("max_steps=true"),
                "a JSON boolean is not the integer 1: \(lastError())")
        #expect(dojo_vector_create("gridworld", #"{"map": "four-rooms\u0000.map"}"#, 1, 1) == nil && lastError().contains("NUL"),
                "\(lastError())")
        let huge = #"{"max_steps": ""# + String(repeating: "9", count: 70_000) + #""}"#
        #expect(dojo_vector_create("cartpole", huge, 1, 1) == nil && lastError().contains("at most 65,536"), "\(lastError())")
        let c = try #require(CVector("cartpole", options: #"{"sutton_barto_reward": true, "velocity": false}"#, copies: 1), "\(lastError())")
        defer { dojo_vector_destroy(c.pointer) }
        let options = try #require(try JSONSerialization.jsonObject(with: Data(String(cString: dojo_vector_describe(c.pointer)!).utf8))
                                   as? [String: Any])["options"] as? [String: String]
        #expect(options?["sutton_barto_reward"] == "true" && options?["velocity"] == "false", "\(String(describing: options))")
        // A replay path that is not UTF-8 is refused, not repaired into another file's name.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("c-hostile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var observation = [Float](repeating: 0, count: c.observationSize)
        #expect(dojo_vector_set_autoreset(c.pointer, 2) == 0 && dojo_vector_reset_seeds(c.pointer, [1], 1, &observation, Int64(observation.count)) == 0)
        let path = Array((folder + "/x").utf8CString.dropLast()) + [-1, 0]
        #expect(dojo_vector_record(c.pointer, 0, path) == -1 && lastError().contains("path is not valid UTF-8"), "\(lastError())")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    @Test("A diverged simulation is reported after its step is booked: outputs written, recording and seeds follow the step")
    func divergedStep() throws {
        let c = try #require(CVector("arm", options: #"{"velocities": "1e30,0"}"#, copies: 2), "\(lastError())")
        defer { dojo_vector_destroy(c.pointer) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("c-diverged-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var observations = [Float](repeating: 1, count: 2 * c.observationSize)
        var rewards: [Float] = [5, 5], terminated: [UInt8] = [0, 0], truncated: [UInt8] = [0, 0]
        #expect(dojo_vector_set_autoreset(c.pointer, 1) == 0)
        #expect(dojo_vector_reset_seeds(c.pointer, [3, 4], 2, &observations, Int64(observations.count)) == 0)
        #expect(dojo_vector_record(c.pointer, 0, folder + "/a.replay") == 0, "\(lastError())")
        let actions = [Float](repeating: 0, count: 2 * c.actionWidth)
        #expect(dojo_vector_step(c.pointer, actions, Int64(actions.count), &observations, nil, Int64(observations.count), &rewards,
                                 &terminated, &truncated, 2) == -1 && lastError().contains("diverged"), "\(lastError())")
        #expect(terminated == [1, 1] && rewards == [0, 0], "the step happened, so its outputs are written")
        #expect(dojo_vector_record(c.pointer, 1, folder + "/b.replay") == -1 && lastError().contains("has stepped already"),
                "copy 1 stepped: a replay from its seed would not match: \(lastError())")
        #expect(dojo_vector_step(c.pointer, actions, Int64(actions.count), &observations, nil, Int64(observations.count), &rewards,
                                 &terminated, &truncated, 2) == 0, "\(lastError())")  // the next-step resets
        #expect(dojo_vector_record(c.pointer, 0, nil) == 0)
        let replay = try Replay.read(from: folder + "/a.replay")
        #expect(replay.stepCount == 1 && replay.terminated)
        #expect(replay.verify(on: try EnvironmentRegistry.make(replay.env, options: replay.options)) == .identical(steps: 1))
    }

    @Test("A replay is never written over a file that has the name of its temporary")
    func replayTemporaryIsNeverReplaced() throws {
        let c = try #require(CVector("cartpole", copies: 1), "\(lastError())")
        defer { dojo_vector_destroy(c.pointer) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("c-partial-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folder + "/a.replay.partial", contents: Data("mine".utf8))
        var observation = [Float](repeating: 0, count: c.observationSize)
        #expect(dojo_vector_set_autoreset(c.pointer, 2) == 0 && dojo_vector_reset_seeds(c.pointer, [1], 1, &observation, Int64(observation.count)) == 0)
        #expect(dojo_vector_record(c.pointer, 0, folder + "/a.replay") == 0, "\(lastError())")
        #expect(dojo_vector_record(c.pointer, 0, nil) == -1 && lastError().contains("never replaces"), "\(lastError())")
        #expect(try String(contentsOfFile: folder + "/a.replay.partial", encoding: .utf8) == "mine")
    }

    @Test("Episode statistics and every copy's info in one call; next-step autoreset through the C interface")
    func episodesAndInfos() throws {
        let c = try #require(CVector("cartpole", copies: 4), "\(lastError())")
        defer { dojo_vector_destroy(c.pointer) }
        #expect(dojo_vector_set_autoreset(c.pointer, 1) == 0)
        var observations = [Float](repeating: 0, count: 4 * c.observationSize)
        var rewards = [Float](repeating: 0, count: 4), terminated = [UInt8](repeating: 0, count: 4), truncated = terminated
        var returns = [Double](repeating: 0, count: 4), lengths = [Int64](repeating: 0, count: 4)
        var infos = [Double](repeating: 0, count: 4 * c.infoKeys.count), info = [Double](repeating: 0, count: c.infoKeys.count)
        #expect(dojo_vector_reset(c.pointer, 2, &observations, Int64(observations.count)) == 0)
        var lengthSoFar = [Int64](repeating: 0, count: 4), ended = 0, resetting = [false, false, false, false]
        for _ in 0..<120 {
            #expect(dojo_vector_step(c.pointer, [1, 1, 0, 1], 4, &observations, nil, Int64(observations.count), &rewards,
                                     &terminated, &truncated, 4) == 0)
            #expect(dojo_vector_episodes(c.pointer, &returns, &lengths, 4) == 0)
            #expect(dojo_vector_infos(c.pointer, &infos, Int64(infos.count)) == 0)
            for copy in 0..<4 {
                #expect(dojo_vector_info(c.pointer, Int32(copy), &info, Int64(info.count)) == 0)
                #expect(Array(infos[copy * info.count..<(copy + 1) * info.count]) == info)
                if resetting[copy] {  // the step after an episode's end only resets the copy
                    #expect(rewards[copy] == 0 && terminated[copy] == 0)
                    resetting[copy] = false
                    continue
                }
                lengthSoFar[copy] += 1
                if terminated[copy] == 1 || truncated[copy] == 1 {
                    #expect(lengths[copy] == lengthSoFar[copy] && returns[copy] == Double(lengthSoFar[copy]))
                    lengthSoFar[copy] = 0
                    resetting[copy] = true
                    ended += 1
                }
            }
        }
        #expect(ended >= 8)
        #expect(dojo_vector_episodes(c.pointer, &returns, &lengths, 3) == -1 && lastError().contains("returns and lengths holds 3"))
        #expect(dojo_vector_infos(c.pointer, &infos, 1) == -1)
    }

    @Test("Loading a policy from a folder that is not a run, or a checkpoint outside it, is an error with a message")
    func policyErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("c-policy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(dojo_policy_load(folder, nil) == nil && lastError().contains(folder), "\(lastError())")
        #expect(dojo_policy_load(folder, "../../etc") == nil && lastError().contains("must name a folder"), "\(lastError())")
        #expect(dojo_policy_load(nil, nil) == nil && lastError().contains("run_directory is NULL"))
        var action: Float = 0
        #expect(dojo_policy_act(nil, [0], 1, &action, 1, 1) == -1 && lastError().contains("policy handle is NULL"))
        #expect(dojo_policy_begin_episode(OpaquePointer(bitPattern: 8)) == -1 && lastError().contains("not a live policy"))
    }

    @Test("Bound buffers: a bound step writes what an unbound step writes, infos included, and allocates nothing")
    func boundBuffers() throws {
        let bound = try #require(CVector("highway", options: #"{"scenario": "highway-fast"}"#, copies: 3), "\(lastError())")
        let plain = try #require(CVector("highway", options: #"{"scenario": "highway-fast"}"#, copies: 3))
        defer { dojo_vector_destroy(bound.pointer); dojo_vector_destroy(plain.pointer) }
        let size = 3 * bound.observationSize, keys = bound.infoKeys.count
        #expect(dojo_vector_step_bound(bound.pointer) == -1 && lastError().contains("dojo_vector_bind first"))
        let actions = UnsafeMutablePointer<Float>.allocate(capacity: 3), observations = UnsafeMutablePointer<Float>.allocate(capacity: size)
        let finals = UnsafeMutablePointer<Float>.allocate(capacity: size), rewards = UnsafeMutablePointer<Float>.allocate(capacity: 3)
        let flags = UnsafeMutablePointer<UInt8>.allocate(capacity: 6), infos = UnsafeMutablePointer<Double>.allocate(capacity: 3 * keys)
        defer { for pointer in [UnsafeMutableRawPointer(actions), .init(observations), .init(finals), .init(rewards), .init(flags), .init(infos)] { pointer.deallocate() } }
        #expect(dojo_vector_bind(bound.pointer, actions, 2, observations, finals, Int64(size), rewards, flags, flags + 3, 3) == -1
                && lastError().contains("actions holds 2"))
        #expect(dojo_vector_bind(bound.pointer, actions, 3, observations, finals, Int64(size), rewards, flags, flags + 3, 3) == 0)
        #expect(dojo_vector_bind_infos(bound.pointer, infos, Int64(3 * keys)) == 0)
        var mine = [Float](repeating: 0, count: size), myFinals = mine, myRewards = [Float](repeating: 0, count: 3)
        var terminated = [UInt8](repeating: 0, count: 3), truncated = terminated, myInfos = [Double](repeating: 0, count: 3 * keys)
        #expect(dojo_vector_reset(bound.pointer, 8, observations, Int64(size)) == 0 && dojo_vector_reset(plain.pointer, 8, &mine, Int64(size)) == 0)
        var ends = 0
        for step in 0..<80 {
            for copy in 0..<3 { actions[copy] = Float((step * 7 + copy) % 5) }
            #expect(dojo_vector_step_bound(bound.pointer) == 0)
            #expect(dojo_vector_step(plain.pointer, actions, 3, &mine, &myFinals, Int64(size), &myRewards, &terminated, &truncated, 3) == 0)
            #expect(dojo_vector_infos(plain.pointer, &myInfos, Int64(3 * keys)) == 0)
            #expect(Array(UnsafeBufferPointer(start: observations, count: size)) == mine && Array(UnsafeBufferPointer(start: rewards, count: 3)) == myRewards)
            #expect(Array(UnsafeBufferPointer(start: flags, count: 6)) == terminated + truncated)
            #expect(Array(UnsafeBufferPointer(start: infos, count: 3 * keys)).map(\.bitPattern) == myInfos.map(\.bitPattern))
            ends += terminated.filter { $0 == 1 }.count + truncated.filter { $0 == 1 }.count
        }
        #expect(ends >= 3)
        #expect(allocationCount { for _ in 0..<200 { _ = dojo_vector_step_bound(bound.pointer) } } == 0)
    }

    @Test("Errors belong to the thread that made them")
    func errorsPerThread() {
        _ = dojo_vector_create("nothing", nil, 1, 1)
        let mine = lastError()
        nonisolated(unsafe) var other: String? = "unset"
        let thread = Thread { other = dojo_last_error().map { String(cString: $0) } }
        thread.start()
        while other == "unset" { usleep(1_000) }
        #expect(!mine.isEmpty && other == nil)
    }

    @Test("Two vectors stepped at once from two threads give what they give one after the other")
    func concurrentHandles() throws {
        func make() throws -> CVector { try #require(CVector("highway", options: #"{"scenario": "highway-fast"}"#, copies: 4, threads: 1)) }
        let actions: @Sendable (Int) -> [Float] = { step in (0..<4).map { Float((step + $0) % 5) } }
        let a = try make(), b = try make()
        defer { dojo_vector_destroy(a.pointer); dojo_vector_destroy(b.pointer) }
        let sequentialA = a.rollout(seed: 3, steps: 60, actions: actions), sequentialB = b.rollout(seed: 4, steps: 60, actions: actions)
        nonisolated(unsafe) var concurrentA: [UInt32] = []
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { concurrentA = a.rollout(seed: 3, steps: 60, actions: actions).observations; done.signal() }
        thread.start()
        let concurrentB = b.rollout(seed: 4, steps: 60, actions: actions).observations
        done.wait()
        #expect(!sequentialA.observations.isEmpty && concurrentA == sequentialA.observations && concurrentB == sequentialB.observations)
    }

    @Test("A step through the C interface allocates nothing")
    func stepAllocatesNothing() throws {
        let c = try #require(CVector("gridworld", options: #"{"map": "four-rooms"}"#, copies: 8))
        defer { dojo_vector_destroy(c.pointer) }
        var observations = [Float](repeating: 0, count: 8 * c.observationSize), finals = observations
        var rewards = [Float](repeating: 0, count: 8), terminated = [UInt8](repeating: 0, count: 8), truncated = terminated
        let actions = [Float](repeating: 1, count: 8)
        #expect(dojo_vector_reset(c.pointer, 1, &observations, Int64(observations.count)) == 0)
        let step = {
            _ = dojo_vector_step(c.pointer, actions, 8, &observations, &finals, Int64(observations.count), &rewards, &terminated,
                                 &truncated, 8)
        }
        for _ in 0..<10 { step() }
        #expect(allocationCount { for _ in 0..<500 { step() } } == 0)
        #expect(dojo_vector_set_autoreset(c.pointer, 1) == 0 && dojo_vector_reset(c.pointer, 1, &observations, Int64(observations.count)) == 0)
        for _ in 0..<10 { step() }
        #expect(allocationCount { for _ in 0..<500 { step() } } == 0, "with next-step autoreset")
    }

    @Test("Goal tasks: the description gives the dict and the goal layout; compute_reward gives each step's reward from its goals")
    func goalTasks() throws {
        for options in [#"{"goal": true, "task": "push"}"#, #"{"goal": "true", "reward": "dense", "links": 3}"#] {
            let c = try #require(CVector("arm", options: options, copies: 3))
            defer { dojo_vector_destroy(c.pointer) }
            let text = String(cString: try #require(dojo_vector_describe(c.pointer)))
            let description = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let observation = try #require(description["observation"] as? [String: Any])
            let goal = try #require(description["goal"] as? [String: Int])
            #expect(observation["type"] as? String == "dict"
                    && observation["keys"] as? [String] == ["achieved_goal", "desired_goal", "observation"])
            #expect(goal["goal_size"] == 2 && goal["achieved_offset"] == 0 && goal["desired_offset"] == 2 && goal["observation_offset"] == 4
                    && goal["observation_size"] == c.observationSize - 4)
            var observations = [Float](repeating: 0, count: 3 * c.observationSize)
            var rewards = [Float](repeating: 0, count: 3), terminated = [UInt8](repeating: 0, count: 3), truncated = terminated
            var achieved = [Float](repeating: 0, count: 6), desired = achieved, recomputed = rewards
            #expect(dojo_vector_reset(c.pointer, 2, &observations, Int64(observations.count)) == 0)
            var rng = SeededGenerator(seed: 4)
            var actions = [Float](repeating: 0, count: 3 * c.actionWidth)
            for _ in 0..<120 {  // past the end of the first episodes: with same-step autoreset, rewards are of the last observation
                for i in actions.indices { actions[i] = rng.nextFloat(in: -1, 1) }
                var finals = observations
                #expect(dojo_vector_step(c.pointer, actions, Int64(actions.count), &observations, &finals, Int64(observations.count),
                                         &rewards, &terminated, &truncated, 3) == 0)
                for copy in 0..<3 {
                    let row = (terminated[copy] | truncated[copy]) == 1 ? finals : observations
                    for k in 0..<2 {
                        achieved[2 * copy + k] = row[copy * c.observationSize + k]
                        desired[2 * copy + k] = row[copy * c.observationSize + 2 + k]
                    }
                }
                #expect(dojo_vector_compute_reward(c.pointer, achieved, desired, 6, &recomputed, 3) == 0)
                #expect(recomputed.map(\.bitPattern) == rewards.map(\.bitPattern))
            }
            #expect(dojo_vector_compute_reward(c.pointer, achieved, desired, 5, &recomputed, 3) == -1
                    && lastError().contains("rewards_count × goal_size 2"))
            #expect(dojo_vector_compute_reward(c.pointer, achieved, desired, 6, &recomputed, -1) == -1)
            #expect(dojo_vector_compute_reward(c.pointer, nil, desired, 6, &recomputed, 3) == -1 && lastError().contains("NULL"))
            #expect(dojo_vector_compute_reward(c.pointer, nil, nil, 0, nil, 0) == 0, "no goals, nothing to write")
        }
        let plain = try #require(CVector("arm", copies: 1))
        defer { dojo_vector_destroy(plain.pointer) }
        var reward: Float = 0
        #expect(dojo_vector_compute_reward(plain.pointer, [0, 0], [0, 0], 2, &reward, 1) == -1 && lastError().contains("not goal-conditioned"))
        #expect(String(cString: dojo_vector_describe(plain.pointer)!).contains(#""goal":null"#))
    }
}
