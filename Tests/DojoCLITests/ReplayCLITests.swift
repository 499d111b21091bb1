import Foundation
import Testing
import TestSupport

/// The replay and rollout commands against hostile input: they answer with a message and an exit status, never a
/// crash.
@Suite(.serialized) struct ReplayCLITests {
    /// Runs the built `dojo` in `folder` (its working directory).
    func dojo(in folder: String, _ arguments: [String]) throws -> (status: Int32, output: String, crashed: Bool) {
        let result = try runDojo(arguments, in: folder)
        return (result.status, result.output, result.signalled)
    }

    func temporaryFolder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("rollout --json with a state floats cannot hold is a typed error, not a trap")
    func nonFiniteState() throws {
        let folder = try temporaryFolder()
        let huge = try dojo(in: folder, ["rollout", "cartpole", "--option", "state=1e39,0,0,0", "--json"])
        #expect(!huge.crashed && huge.status != 0, "\(huge.output)")
        #expect(huge.output.contains("cartpole option state=1e39,0,0,0: expected 4 comma-separated numbers"), "\(huge.output)")
        // Finite at the start, beyond float range after a step.
        let overflow = try dojo(in: folder, ["rollout", "cartpole", "--option", "state=0,0,0.1,3e38", "--random", "3", "--json"])
        #expect(!overflow.crashed && overflow.status == 1, "\(overflow.output)")
        #expect(overflow.output.contains("step 1: the observation holds a value floats cannot represent"), "\(overflow.output)")
    }

    /// Records a cart-pole rollout in `folder` and returns its path and JSON object.
    func recorded(in folder: String) throws -> (path: String, object: [String: Any]) {
        let path = folder + "/run.replay"
        let result = try dojo(in: folder, ["rollout", "cartpole", "--seed", "3", "--random", "20", "--record", path])
        #expect(result.status == 0, "\(result.output)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        return (path, object)
    }

    func write(_ object: [String: Any], to path: String) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    @Test("Version 1 replays: --verify points to --upgrade; --upgrade refuses out-of-range actions and edits, else writes version 2")
    func upgrade() throws {
        let folder = try temporaryFolder()
        var (path, object) = try recorded(in: folder)
        #expect(object["version"] as? Int == 2 && (object["digest"] as? String)?.count == 16)
        object["version"] = 1
        object["digest"] = nil
        try write(object, to: path)
        let old = try dojo(in: folder, ["replay", path, "--verify"])
        #expect(old.status == 1 && old.output.contains("dojo replay \(path) --upgrade NEW.replay"), "\(old.output)")
        let upgraded = try dojo(in: folder, ["replay", path, "--upgrade", folder + "/new.replay"])
        #expect(upgraded.status == 0 && upgraded.output.contains("re-simulated all 20 steps; wrote version 2"), "\(upgraded.output)")
        #expect(try dojo(in: folder, ["replay", folder + "/new.replay", "--verify"]).status == 0)
        var actions = object["actions"] as! [[Double]]
        actions[2] = [7]
        object["actions"] = actions
        try write(object, to: path)
        let bad = try dojo(in: folder, ["replay", path, "--upgrade", folder + "/bad.replay"])
        #expect(!bad.crashed && bad.status == 1, "\(bad.output)")
        #expect(bad.output.contains("action 3 is [7.0]: 7.0 is not a whole number in 0...1 (Discrete(2))"), "\(bad.output)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/bad.replay"))
    }

    @Test("An edited replay fails its digest; a replay over 64 MB is refused before it is read")
    func digestAndSize() throws {
        let folder = try temporaryFolder()
        let (path, _) = try recorded(in: folder)
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"policy\":\"random\"", with: "\"policy\":\"expert\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let edited = try dojo(in: folder, ["replay", path, "--verify"])
        #expect(edited.status == 1 && edited.output.contains("the digest"), "\(edited.output)")
        let huge = folder + "/huge.replay"
        FileManager.default.createFile(atPath: huge, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: huge))
        try handle.truncate(atOffset: 75 << 20)
        try handle.close()
        let refused = try dojo(in: folder, ["replay", huge, "--verify"])
        #expect(refused.status == 1 && refused.output.contains("more than the 64 MB a replay may have"), "\(refused.output)")
    }

    @Test("A map given relative to the working folder is recorded relative to the replay, and found from anywhere")
    func mapRelativeToReplay() throws {
        let folder = try temporaryFolder()
        try "#####\r\n#S..#\r\n#..G#\r\n#####\r\n".write(toFile: folder + "/room.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder + "/runs", withIntermediateDirectories: true)
        let recorded = try dojo(in: folder, ["rollout", "gridworld", "--option", "map=room.txt", "--random", "10", "--record", "runs/r.replay"])
        #expect(recorded.status == 0, "\(recorded.output)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/runs/r.replay"))) as! [String: Any]
        #expect((object["options"] as? [String: String])?["map"] == "../room.txt")
        let verified = try dojo(in: "/", ["replay", folder + "/runs/r.replay", "--verify"])
        #expect(verified.status == 0 && verified.output.contains("re-simulate bit for bit"), "\(verified.output)")
    }

    @Test("An actions file with control characters is refused with them escaped")
    func actionsFileEscaped() throws {
        let folder = try temporaryFolder()
        try "0\n1\u{1B}[31m\n".write(toFile: folder + "/a.txt", atomically: true, encoding: .utf8)
        let result = try dojo(in: folder, ["rollout", "cartpole", "--actions", "a.txt"])
        #expect(result.status != 0 && !result.output.contains("\u{1B}"), "\(result.output)")
        #expect(result.output.contains("a.txt:2: expected 1 number(s) per action, got '1\\u{1B}[31m'."), "\(result.output)")
    }
}
