import Foundation

/// A recorded episode that re-simulates exactly: the environment id and complete options, the seed, every action,
/// and the reward and state checksum after every step. Files carry a digest over everything else, so an edit or a
/// corrupted byte is refused when read. Format and a Python reader: docs/replay-format.md.
public struct Replay: Codable, Equatable, Sendable {
    public static let formatName = "dojo-replay"
    /// Version 2 added the digest; version 1 files are read only to be upgraded (``read(from:acceptingVersion1:)``).
    public static let currentVersion = 2
    /// Largest replay file read, in bytes (64 MB; the committed replays are under 400 kB).
    public static let maximumFileSize = 64 << 20

    public var format = Replay.formatName
    public var version = Replay.currentVersion
    /// Registry id, e.g. "gridworld".
    public var env: String
    /// Every option of the environment, defaults included. Relative paths are relative to the replay's folder.
    public var options: [String: String]
    /// The seed passed to `reset`, as a decimal string (JSON numbers cannot hold every 64-bit value).
    public var seed: String
    /// Floats per action (see ``Space/actionWidth``).
    public var actionWidth: Int
    /// Checksum of the state right after reset (16 hex digits).
    public var initialChecksum: String
    public var actions: [[Float]]
    public var rewards: [Float]
    /// Checksum of the state after each step (16 hex digits).
    public var checksums: [String]
    /// How the episode ended (both false for a recording stopped early).
    public var terminated: Bool
    public var truncated: Bool
    /// Optional: the observation after reset followed by the one after each step.
    public var observations: [[Float]]?
    /// Free-form notes: who recorded it, with which agent, the return (`return`, checked against the rewards).
    public var metadata: [String: String]

    enum CodingKeys: String, CodingKey {
        case format, version, env, options, seed, actionWidth = "action_width", initialChecksum = "initial_checksum"
        case actions, rewards, checksums, terminated, truncated, observations, metadata, digest
    }

    public init(env: String, options: [String: String], seed: String, actionWidth: Int, initialChecksum: String,
                actions: [[Float]], rewards: [Float], checksums: [String], terminated: Bool, truncated: Bool,
                observations: [[Float]]?, metadata: [String: String]) {
        self.env = env; self.options = options; self.seed = seed; self.actionWidth = actionWidth
        self.initialChecksum = initialChecksum; self.actions = actions; self.rewards = rewards; self.checksums = checksums
        self.terminated = terminated; self.truncated = truncated; self.observations = observations; self.metadata = metadata
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        version = try c.decode(Int.self, forKey: .version)
        env = try c.decode(String.self, forKey: .env)
        options = try c.decode([String: String].self, forKey: .options)
        seed = try c.decode(String.self, forKey: .seed)
        actionWidth = try c.decode(Int.self, forKey: .actionWidth)
        initialChecksum = try c.decode(String.self, forKey: .initialChecksum)
        actions = try c.decode([[Float]].self, forKey: .actions)
        rewards = try c.decode([Float].self, forKey: .rewards)
        checksums = try c.decode([String].self, forKey: .checksums)
        terminated = try c.decode(Bool.self, forKey: .terminated)
        truncated = try c.decode(Bool.self, forKey: .truncated)
        observations = try c.decodeIfPresent([[Float]].self, forKey: .observations)
        metadata = try c.decode([String: String].self, forKey: .metadata)
    }

    /// Encodes every field and, from version 2 on, the ``digest`` of them.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format); try c.encode(version, forKey: .version); try c.encode(env, forKey: .env)
        try c.encode(options, forKey: .options); try c.encode(seed, forKey: .seed)
        try c.encode(actionWidth, forKey: .actionWidth); try c.encode(initialChecksum, forKey: .initialChecksum)
        try c.encode(actions, forKey: .actions); try c.encode(rewards, forKey: .rewards); try c.encode(checksums, forKey: .checksums)
        try c.encode(terminated, forKey: .terminated); try c.encode(truncated, forKey: .truncated)
        try c.encodeIfPresent(observations, forKey: .observations); try c.encode(metadata, forKey: .metadata)
        if version >= 2 { try c.encode(digest, forKey: .digest) }
    }

    public var stepCount: Int { actions.count }
    public var totalReward: Double { rewards.reduce(0) { $0 + Double($1) } }

    /// 64-bit FNV-1a over the canonical encoding of every field but the digest itself (16 hex digits). It detects
    /// edits and corruption; it is not a signature (anyone can recompute it). The encoding, as 64-bit little-endian
    /// words: a string is its UTF-8 byte count then one word per byte; a number list its count then one word per
    /// float32 bit pattern; a table its count then key, value pairs sorted by UTF-8 bytes. See docs/replay-format.md.
    public var digest: String {
        var hasher = StateHasher()
        func text(_ s: String) { hasher.combine(s.utf8.count); for byte in s.utf8 { hasher.combine(UInt64(byte)) } }
        func floats(_ values: [Float]) { hasher.combine(values.count); for value in values { hasher.combine(value) } }
        func table(_ t: [String: String]) {
            hasher.combine(t.count)
            for key in t.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) { text(key); text(t[key]!) }
        }
        text(format); hasher.combine(version); text(env); table(options); text(seed); hasher.combine(actionWidth)
        text(initialChecksum)
        hasher.combine(actions.count); actions.forEach(floats)
        floats(rewards)
        hasher.combine(checksums.count); checksums.forEach(text)
        hasher.combine(terminated); hasher.combine(truncated)
        if let observations { hasher.combine(1); hasher.combine(observations.count); observations.forEach(floats) } else { hasher.combine(0) }
        table(metadata)
        return hasher.value.hex16
    }

    /// Serialized JSON (sorted keys, so the same replay always gives the same bytes), with its digest.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// Writes the replay atomically: a temporary file renamed into place, never a partial file.
    public func write(to path: String) throws {
        do {
            try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ReplayError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }

    /// Reads and checks a replay file of the current version: its size, shape and digest.
    public static func read(from path: String) throws -> Replay {
        try read(from: path, acceptingVersion1: false)
    }

    /// Reads a replay of the current version or, with `acceptingVersion1`, of version 1 (no digest: trust it only
    /// after re-simulation, as `Replay.upgrade` in Environments does).
    public static func read(from path: String, acceptingVersion1: Bool) throws -> Replay {
        try decode(try boundedContents(of: path), path: path, acceptingVersion1: acceptingVersion1)
    }

    /// Checks and decodes a replay's bytes as ``read(from:acceptingVersion1:)`` does after reading them; `path` only
    /// labels errors.
    public static func decode(_ data: Data, path: String, acceptingVersion1: Bool = false) throws -> Replay {
        guard data.count <= maximumFileSize else {
            throw ReplayError.cannotRead(path: path, reason: "it is \(data.count) bytes, more than the 64 MB a replay may have")
        }
        // Check the format and version before decoding the rest, so an older or newer file says so plainly.
        struct Header: Decodable { var format: String?; var version: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            guard let object, object["format"] as? String == formatName, let version = object["version"] else {
                throw ReplayError.malformed(path: path, detail: "not a JSON object with a format and a version (truncated or not a replay)")
            }
            throw ReplayError.unsupportedVersion(path: path, found: version is String ? "\"\(version)\"" : "\(version)", supported: currentVersion)
        }
        guard header.format == formatName else {
            throw ReplayError.malformed(path: path, detail: "the \"format\" field is not \"\(formatName)\"")
        }
        guard let version = header.version, version == currentVersion || (acceptingVersion1 && version == 1) else {
            throw ReplayError.unsupportedVersion(path: path, found: header.version.map(String.init) ?? "none", supported: currentVersion)
        }
        let replay: Replay
        do { replay = try JSONDecoder().decode(Replay.self, from: data) } catch let DecodingError.keyNotFound(key, _) {
            throw ReplayError.malformed(path: path, detail: "the field \"\(key.stringValue)\" is missing")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
                DecodingError.dataCorrupted(let context) {
            let field = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            throw ReplayError.malformed(path: path, detail: "the field \"\(quotedForMessage(field))\" has the wrong type or value")
        } catch {
            throw ReplayError.malformed(path: path, detail: "a field has the wrong type or value")
        }
        if version >= 2 {
            struct Sealed: Decodable { var digest: String? }
            let stored = (try? JSONDecoder().decode(Sealed.self, from: data))?.digest
            guard let stored else { throw ReplayError.malformed(path: path, detail: "the \"digest\" field is missing") }
            guard stored == replay.digest else {
                throw ReplayError.malformed(path: path, detail: "the digest \(quotedForMessage(stored)) does not match the contents "
                                            + "(\(replay.digest)): a field was changed after recording")
            }
        }
        try replay.validate(path: path)
        return replay
    }

    /// The bytes of a regular file of at most ``maximumFileSize`` bytes, checked before any is read.
    static func boundedContents(of path: String) throws -> Data {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw ReplayError.cannotRead(path: path, reason: "no such file, or it cannot be opened")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw ReplayError.cannotRead(path: path, reason: "not a regular file; give the path of a .replay file")
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maximumFileSize else {
            throw ReplayError.cannotRead(path: path, reason: "it is \(size) bytes, more than the 64 MB a replay may have")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ReplayError.cannotRead(path: path, reason: "it cannot be opened for reading")
        }
        defer { try? handle.close() }
        // Read at most one byte past the cap, in case the file grew since it was measured.
        let data: Data
        do { data = try handle.read(upToCount: maximumFileSize + 1) ?? Data() } catch {
            throw ReplayError.cannotRead(path: path, reason: error.localizedDescription)
        }
        guard data.count <= maximumFileSize else {
            throw ReplayError.cannotRead(path: path, reason: "it grew past the 64 MB a replay may have while it was read")
        }
        return data
    }

    func validate(path: String) throws {
        guard UInt64(seed) != nil else {
            throw ReplayError.malformed(path: path, detail: "seed \(quotedForMessage(seed)) is not a 64-bit unsigned integer")
        }
        guard rewards.count == actions.count, checksums.count == actions.count else {
            throw ReplayError.malformed(path: path, detail: "\(actions.count) actions but \(rewards.count) rewards and \(checksums.count) checksums")
        }
        if let index = actions.firstIndex(where: { $0.count != actionWidth }) {
            throw ReplayError.malformed(path: path, detail: "action \(index + 1) has \(actions[index].count) values, action_width is \(actionWidth)")
        }
        if let index = (checksums + [initialChecksum]).firstIndex(where: { $0.utf8.count != 16 || UInt64($0, radix: 16) == nil }) {
            throw ReplayError.malformed(path: path, detail: "checksum \(index) is not 16 hex digits")
        }
        if let observations, observations.count != actions.count + 1 {
            throw ReplayError.malformed(path: path, detail: "\(observations.count) observations for \(actions.count) steps (expected steps + 1)")
        }
    }

    /// The outcome of re-simulating a replay.
    public enum Verification: Equatable, Sendable {
        case identical(steps: Int)
        /// The first step (0 = the state after reset, k = after action k) whose reward, checksum, observation or
        /// end flags differ from the re-simulation.
        case diverged(step: Int, detail: String)
        /// The replay does not fit the environment (an action outside the action space, wrong widths); nothing was
        /// stepped with it.
        case invalid(detail: String)
    }

    /// Why the replay cannot be played on `environment`, or nil: action width and every action checked against the
    /// action space, observation widths against the observation space, the seed parsed. Check this before stepping.
    public func problem(on environment: any Environment) -> String? {
        let space = environment.actionSpace, width = space.actionWidth
        guard actionWidth == width else {
            return "action_width is \(actionWidth), \(environment.id)'s actions are \(space) (\(width) value\(width == 1 ? "" : "s"))"
        }
        for (index, action) in actions.enumerated() {
            if let problem = space.validate(action: action) {
                return "action \(index + 1) is \(action.prefix(8))\(action.count > 8 ? "…" : ""): \(problem)"
            }
        }
        if let observations {
            let count = environment.observationSpace.flatCount
            if let index = observations.firstIndex(where: { $0.count != count }) {
                return "observation \(index) has \(observations[index].count) values, \(environment.id)'s observations have \(count)"
            }
            if observations.count != actions.count + 1 {
                return "\(observations.count) observations for \(actions.count) steps (expected steps + 1)"
            }
        }
        guard rewards.count == actions.count, checksums.count == actions.count else {
            return "\(actions.count) actions but \(rewards.count) rewards and \(checksums.count) checksums"
        }
        guard UInt64(seed) != nil else { return "seed \(quotedForMessage(seed)) is not a 64-bit unsigned integer" }
        return nil
    }

    /// Re-simulates on `environment` (built from `env` and `options`) after checking every action against its action
    /// space. Compares, bitwise, every reward, state checksum and stored observation; the end flags of the last step
    /// (and that no earlier step ends the episode); and a `return` in the metadata against the rewards.
    public func verify(on environment: any Environment) -> Verification {
        if let problem = problem(on: environment) { return .invalid(detail: problem) }
        func ending(_ terminated: Bool, _ truncated: Bool) -> String {
            switch (terminated, truncated) {
            case (false, false): return "goes on"
            case (true, false): return "ends terminated"
            case (false, true): return "ends truncated"
            case (true, true): return "ends terminated and truncated"
            }
        }
        func same(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern } }
        var observation = [Float](repeating: 0, count: environment.observationSpace.flatCount)
        environment.reset(seed: UInt64(seed) ?? 0, observation: &observation)
        if environment.stateChecksum.hex16 != initialChecksum {
            return .diverged(step: 0, detail: "state after reset has checksum \(environment.stateChecksum.hex16), replay has \(initialChecksum)")
        }
        if let observations, !same(observation, observations[0]) {
            return .diverged(step: 0, detail: "the observation after reset differs from the stored one")
        }
        var last = (terminated: false, truncated: false)
        for (index, action) in actions.enumerated() {
            if last.terminated || last.truncated {
                let more = actions.count - index
                return .diverged(step: index, detail: "the episode \(ending(last.terminated, last.truncated)), the replay goes on for \(more) more step\(more == 1 ? "" : "s")")
            }
            let result = environment.step(action, observation: &observation)
            let checksum = environment.stateChecksum.hex16
            if result.reward.bitPattern != rewards[index].bitPattern || checksum != checksums[index] {
                return .diverged(step: index + 1, detail: "reward \(result.reward) vs \(rewards[index]), checksum \(checksum) vs \(checksums[index])")
            }
            if let observations, !same(observation, observations[index + 1]) {
                return .diverged(step: index + 1, detail: "the observation differs from the stored one")
            }
            last = (result.terminated, result.truncated)
        }
        if last != (terminated, truncated) {
            let recorded = "says it \(ending(terminated, truncated))"
            return .diverged(step: actions.count, detail: "the episode \(ending(last.terminated, last.truncated)), the replay \(recorded)")
        }
        if let text = metadata["return"], Double(text) != totalReward {
            return .diverged(step: actions.count, detail: "metadata return \(quotedForMessage(text)), the rewards sum to \(totalReward)")
        }
        return .identical(steps: actions.count)
    }
}

/// Records an episode into a ``Replay`` as it is played.
public struct ReplayRecorder {
    public private(set) var replay: Replay

    /// Call right after `environment.reset(seed: seed, ...)`. `observation`: the first observation to keep, if
    /// observations are recorded.
    public init(environment: any Environment, seed: UInt64, observation: [Float]? = nil, metadata: [String: String] = [:]) {
        replay = Replay(env: environment.id, options: environment.options.values, seed: String(seed),
                        actionWidth: environment.actionSpace.actionWidth, initialChecksum: environment.stateChecksum.hex16,
                        actions: [], rewards: [], checksums: [], terminated: false, truncated: false,
                        observations: observation.map { [$0] }, metadata: metadata)
    }

    /// Call after each `step`.
    public mutating func record(action: [Float], result: StepResult, environment: any Environment, observation: [Float]? = nil) {
        replay.actions.append(action)
        replay.rewards.append(result.reward)
        replay.checksums.append(environment.stateChecksum.hex16)
        replay.terminated = result.terminated
        replay.truncated = result.truncated
        if let observation { replay.observations?.append(observation) }
    }
}

public enum ReplayError: Error, CustomStringConvertible, Equatable {
    /// The same error with its path and reason safe to print.
    var quoted: ReplayError {
        switch self {
        case .cannotRead(let path, let reason): return .cannotRead(path: quotedForMessage(path, limit: 400), reason: reason)
        case .cannotWrite(let path, let reason): return .cannotWrite(path: quotedForMessage(path, limit: 400), reason: reason)
        case .malformed(let path, let detail): return .malformed(path: quotedForMessage(path, limit: 400), detail: detail)
        case .unsupportedVersion(let path, let found, let supported):
            return .unsupportedVersion(path: quotedForMessage(path, limit: 400), found: found, supported: supported)
        }
    }

    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case malformed(path: String, detail: String)
    case unsupportedVersion(path: String, found: String, supported: Int)

    public var description: String {
        switch self.quoted {
        case .cannotRead(let path, let reason): return "\(path): cannot read the replay (\(reason))."
        case .cannotWrite(let path, let reason): return "\(path): cannot write the replay (\(reason)); check the folder exists and is writable."
        case .malformed(let path, let detail):
            return "\(path): not a valid Dojo replay: \(detail). Was it cut off or edited? Record it again with `dojo rollout ... --record`."
        case .unsupportedVersion(let path, let found, let supported):
            let hint = found == "1"
                ? "Version 1 replays carry no digest; re-simulate and upgrade one with: dojo replay \(path) --upgrade NEW.replay"
                : "Use the dojo that recorded it."
            return "\(path): replay format version \(quotedForMessage(found, limit: 20)); this dojo reads version \(supported). \(hint)"
        }
    }
}
