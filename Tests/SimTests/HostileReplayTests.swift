import Environments
import Foundation
import Sim
import Testing

/// Replays from outside are hostile: out-of-range actions must be refused before stepping, and every altered field
/// (actions, flags, observations, metadata, version) must fail verification or reading.
@Suite struct HostileReplayTests {
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)").path
    }

    /// A random rollout (observations kept) of up to `steps` steps.
    func record(_ id: String, _ options: [String: String] = [:], seed: UInt64 = 1, steps: Int) throws -> Replay {
        let env = try EnvironmentRegistry.make(id, options: options)
        var recorder = ReplayRecorder(environment: env, seed: seed, observation: env.reset(seed: seed))
        var rng = SeededGenerator(seed: seed, stream: 5)
        var action = [Float](repeating: 0, count: env.actionSpace.actionWidth)
        var total = 0.0
        for _ in 0..<steps {
            env.actionSpace.sample(into: &action, using: &rng)
            let (observation, result) = env.step(action)
            total += Double(result.reward)
            recorder.record(action: action, result: result, environment: env, observation: observation)
            if result.done { break }
        }
        var replay = recorder.replay
        replay.metadata["return"] = String(total)
        replay.metadata["recorded_by"] = "dojo rollout"
        return replay
    }

    func verify(_ replay: Replay) throws -> Replay.Verification {
        replay.verify(on: try EnvironmentRegistry.make(for: replay))
    }

    /// Writes `replay`, lets `edit` change the file's text, and reads it back: the error text, or nil.
    func readError(_ replay: Replay, edit: (String) -> String = { $0 }) throws -> String? {
        let path = temporaryPath("edited.replay")
        try Data(edit(String(decoding: try replay.encoded(), as: UTF8.self)).utf8).write(to: URL(fileURLWithPath: path))
        do { _ = try Replay.read(from: path); return nil } catch { return "\(error)".replacingOccurrences(of: path, with: "FILE") }
    }

    @Test("Space.validate(action:) accepts members and names the problem of everything else")
    func spaceValidation() {
        let discrete = Space.discrete(4)
        #expect(discrete.validate(action: [3]) == nil)
        for bad: [Float] in [[7], [-1], [1e30], [1.5], [.nan], [.infinity], [], [1, 1]] {
            #expect(discrete.validate(action: bad) != nil, "\(bad)")
        }
        #expect(discrete.validate(action: [7])! == "7.0 is not a whole number in 0...3 (Discrete(4))")
        #expect(discrete.validate(action: [])! == "expected 1 value for Discrete(4), got 0")
        let box = Space.box(low: -1, high: 1, shape: [2])
        #expect(box.validate(action: [-1, 0.5]) == nil)
        #expect(box.validate(action: [0, 1.01])! == "component 1: 1.01 is not a finite number in -1.0...1.0 (Box(-1.0, 1.0, shape: [2]))")
        #expect(box.validate(action: [.nan, 0]) != nil)
        let unbounded = Space.box(low: -.infinity, high: .infinity, shape: [1])
        #expect(unbounded.validate(action: [1e30]) == nil)
        #expect(unbounded.validate(action: [.infinity]) != nil)
        let multi = Space.multiDiscrete([2, 3])
        #expect(multi.validate(action: [1, 2]) == nil)
        #expect(multi.validate(action: [1, 3])! == "component 1: 3.0 is not a whole number in 0...2 (MultiDiscrete([2, 3]))")
    }

    @Test("Out-of-range actions are refused before stepping (no crash), for every environment",
          arguments: [("gridworld", [String: String](), [Float](arrayLiteral: 7)), ("gridworld", [:], [-1]), ("gridworld", [:], [1e30]),
                      ("cartpole", [:], [2]), ("cartpole", [:], [0.5]), ("highway", [:], [9]), ("highway", [:], [4.5]),
                      ("arm", ["action": "discrete"], [99])])
    func outOfRangeActions(id: String, options: [String: String], action: [Float]) throws {
        var replay = try record(id, options, steps: 5)
        replay.actions[2] = action
        guard case .invalid(let detail) = try verify(replay) else { Issue.record("\(id) \(action) not refused"); return }
        #expect(detail.hasPrefix("action 3 is \(action):"), "\(detail)")
    }

    @Test("A zero action width, or a width that differs from the environment's, is refused")
    func actionWidths() throws {
        var empty = try record("gridworld", steps: 5)
        empty.actionWidth = 0
        empty.actions = empty.actions.map { _ in [] }
        #expect(try verify(empty) == .invalid(detail: "action_width is 0, gridworld's actions are Discrete(4) (1 value)"))
        var wide = try record("gridworld", steps: 5)
        wide.actionWidth = 2
        wide.actions = wide.actions.map { $0 + [3] }
        #expect(try verify(wide) == .invalid(detail: "action_width is 2, gridworld's actions are Discrete(4) (1 value)"))
    }

    @Test("A fractional action that truncates to the recorded one does not verify")
    func fractionalAction() throws {
        var replay = try record("gridworld", steps: 20)
        let index = try #require(replay.actions.firstIndex { $0 == [1] })
        replay.actions[index] = [1.5]
        #expect(try verify(replay) == .invalid(detail: "action \(index + 1) is [1.5]: 1.5 is not a whole number in 0...3 (Discrete(4))"))
    }

    @Test("Flipped or invented end flags, prefixes still marked as ended, and empty episodes marked ended diverge")
    func endFlags() throws {
        let replay = try record("cartpole", steps: 500)
        #expect(replay.terminated && replay.stepCount > 12)
        #expect(try verify(replay) == .identical(steps: replay.stepCount))
        var flipped = replay
        flipped.terminated = false
        #expect(try verify(flipped) == .diverged(step: replay.stepCount, detail: "the episode ends terminated, the replay says it goes on"))
        var truncated = replay
        truncated.truncated = true
        #expect(try verify(truncated) == .diverged(step: replay.stepCount, detail: "the episode ends terminated, the replay says it ends terminated and truncated"))
        var prefix = replay
        prefix.actions.removeLast(prefix.stepCount - 10)
        prefix.rewards.removeLast(prefix.rewards.count - 10)
        prefix.checksums.removeLast(prefix.checksums.count - 10)
        prefix.observations!.removeLast(prefix.observations!.count - 11)
        #expect(try verify(prefix) == .diverged(step: 10, detail: "the episode goes on, the replay says it ends terminated"))
        var empty = prefix
        empty.actions = []; empty.rewards = []; empty.checksums = []; empty.observations = [replay.observations![0]]
        #expect(try verify(empty) == .diverged(step: 0, detail: "the episode goes on, the replay says it ends terminated"))
        var extended = replay
        extended.actions.append([0]); extended.rewards.append(1); extended.checksums.append(replay.checksums.last!)
        extended.observations!.append(replay.observations!.last!)
        #expect(try verify(extended) == .diverged(step: replay.stepCount, detail: "the episode ends terminated, the replay goes on for 1 more step"))
    }

    @Test("Fake observations diverge at the first step whose observation differs; a wrong width is refused")
    func fakeObservations() throws {
        var replay = try record("cartpole", steps: 30)
        replay.observations![4][2] += 0.001
        guard case .diverged(let step, _) = try verify(replay) else { Issue.record("fake observation verified"); return }
        #expect(step == 4)
        var short = try record("cartpole", steps: 30)
        short.observations![0].removeLast()
        #expect(try verify(short) == .invalid(detail: "observation 0 has 3 values, cartpole's observations have 4"))
    }

    @Test("Edited metadata, a changed return and bit flips fail the digest; a wrong return fails verification")
    func metadataAndDigest() throws {
        let replay = try record("gridworld", ["map": "empty"], steps: 40)
        #expect(try readError(replay) == nil)
        let returnText = try #require(replay.metadata["return"])
        let changedReturn = try readError(replay) { $0.replacingOccurrences(of: "\"return\":\"\(returnText)\"", with: "\"return\":\"0.99\"") }
        #expect(changedReturn?.contains("FILE: not a valid Dojo replay: the digest") == true, "\(changedReturn ?? "verified")")
        let flipped = try readError(replay) { $0.replacingOccurrences(of: "dojo rollout", with: "dojo rollouu") }
        #expect(flipped?.contains("the digest") == true)
        let byteFlips = try readError(replay) { $0.replacingOccurrences(of: "\"recorded_by\"", with: "\"recorded_bx\"") }
        #expect(byteFlips?.contains("the digest") == true)
        // Re-sealed with a wrong return (the digest then matches): verification compares it with the rewards.
        var wrongReturn = replay
        wrongReturn.metadata["return"] = "0.99"
        #expect(try readError(wrongReturn) == nil)
        #expect(try verify(wrongReturn) == .diverged(step: replay.stepCount,
                                                     detail: "metadata return 0.99, the rewards sum to \(replay.totalReward)"))
    }

    @Test("The digest follows the documented canonical encoding (an independent implementation agrees)")
    func digestEncoding() throws {
        let replay = try record("cartpole", ["state": "0,0,0.01,0"], seed: 9, steps: 3)
        var bytes: [UInt8] = []
        func word(_ w: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(i)))) } }
        func text(_ s: String) { word(UInt64(s.utf8.count)); for b in s.utf8 { word(UInt64(b)) } }
        func floats(_ values: [Float]) { word(UInt64(values.count)); for v in values { word(UInt64(v.bitPattern)) } }
        func table(_ t: [String: String]) {
            word(UInt64(t.count))
            for key in t.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) { text(key); text(t[key]!) }
        }
        text("dojo-replay"); word(2); text(replay.env); table(replay.options); text(replay.seed); word(UInt64(replay.actionWidth))
        text(replay.initialChecksum)
        word(UInt64(replay.actions.count)); replay.actions.forEach(floats)
        floats(replay.rewards)
        word(UInt64(replay.checksums.count)); replay.checksums.forEach(text)
        word(replay.terminated ? 1 : 0); word(replay.truncated ? 1 : 0)
        word(1); word(UInt64(replay.observations!.count)); replay.observations!.forEach(floats)
        table(replay.metadata)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        #expect(replay.digest == hash.hex16)
        let json = try JSONSerialization.jsonObject(with: try replay.encoded()) as? [String: Any]
        #expect(json?["digest"] as? String == hash.hex16)
        #expect(json?["version"] as? Int == 2)
    }

    @Test("Unknown versions are refused; version 1 files point to the verified upgrade")
    func versions() throws {
        let replay = try record("cartpole", steps: 10)
        for version in ["3", "0", "\"2\"", "2.5"] {
            let error = try readError(replay) { $0.replacingOccurrences(of: "\"version\":2", with: "\"version\":\(version)") }
            #expect(error?.hasPrefix("FILE: replay format version \(version); this dojo reads version 2") == true,
                    "\(error ?? "read")")
        }
        let old = try readError(replay) { $0.replacingOccurrences(of: "\"version\":2", with: "\"version\":1") }
        #expect(old?.contains("dojo replay FILE --upgrade NEW.replay") == true, "\(old ?? "read")")
    }

    @Test("A version 1 replay upgrades only after it re-simulates exactly")
    func upgrade() throws {
        let replay = try record("gridworld", ["map": "key-door"], steps: 60)
        func version1(_ replay: Replay) throws -> String {
            let path = temporaryPath("v1.replay")
            var object = try JSONSerialization.jsonObject(with: try replay.encoded()) as! [String: Any]
            object["version"] = 1
            object["digest"] = nil
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
            return path
        }
        let upgraded = try Replay.upgrade(from: try version1(replay), folder: nil)
        #expect(upgraded == replay)
        var edited = replay
        edited.rewards[3] = 0.5
        #expect(throws: ReplayError.self) { try Replay.upgrade(from: try version1(edited), folder: nil) }
        var badAction = replay
        badAction.actions[0] = [7]
        #expect(throws: ReplayError.self) { try Replay.upgrade(from: try version1(badAction), folder: nil) }
    }

    @Test("Files over the size cap, and things that are not regular files, are refused before reading")
    func sizeCap() throws {
        let path = temporaryPath("huge.replay")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(Replay.maximumFileSize) + 1)  // sparse: nothing is written
        try handle.close()
        do { _ = try Replay.read(from: path); Issue.record("a huge replay was read") } catch {
            #expect("\(error)" == "\(path): cannot read the replay (it is \(Replay.maximumFileSize + 1) bytes, more than the 64 MB a replay may have).")
        }
        do { _ = try Replay.read(from: "/dev/zero"); Issue.record("/dev/zero was read") } catch {
            #expect("\(error)".hasPrefix("/dev/zero: cannot read the replay (not a regular file"))
        }
    }

    @Test("A replay's map= path is resolved in the replay's folder, and map errors never echo file contents")
    func mapPaths() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "#####\n#S.G#\n#####\n".write(toFile: folder + "/room.txt", atomically: true, encoding: .utf8)
        var replay = try record("gridworld", ["map": folder + "/room.txt"], steps: 4)
        replay.options["map"] = "room.txt"
        #expect(throws: OptionError.self) { try EnvironmentRegistry.make(for: replay) }  // not in the working folder
        let env = try EnvironmentRegistry.make(for: replay, folder: folder)
        #expect(replay.verify(on: env) == .identical(steps: replay.stepCount))
        replay.options["map"] = "four-rooms"  // built-in names stay built-in
        #expect(try EnvironmentRegistry.make(for: replay, folder: folder).options.string("map") == "four-rooms")
        try "secret\n".write(toFile: folder + "/secret.txt", atomically: true, encoding: .utf8)
        replay.options["map"] = "secret.txt"
        do { _ = try EnvironmentRegistry.make(for: replay, folder: folder); Issue.record("secret.txt loaded") } catch {
            #expect(!"\(error)".contains("secret\n") && !"\(error)".contains("'s'"), "\(error)")
            #expect("\(error)".contains("secret.txt:1:1: a character that is not part of the map format"), "\(error)")
        }
    }
}
