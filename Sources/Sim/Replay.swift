import Foundation

/// A recorded episode that re-simulates exactly: the environment id and complete options, the seed, every action,
/// and the reward and state checksum after every step. Format and a Python reader: docs/replay-format.md.
public struct Replay: Codable, Equatable, Sendable {
    public static let formatName = "dojo-replay"
    public static let currentVersion = 1

    public var format = Replay.formatName
    public var version = Replay.currentVersion
    /// Registry id, e.g. "gridworld".
    public var env: String
    /// Every option of the environment, defaults included.
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
    /// Free-form notes: who recorded it, with which agent, the return.
    public var metadata: [String: String]

    enum CodingKeys: String, CodingKey {
        case format, version, env, options, seed, actionWidth = "action_width", initialChecksum = "initial_checksum"
        case actions, rewards, checksums, terminated, truncated, observations, metadata
    }

    public var stepCount: Int { actions.count }
    public var totalReward: Double { rewards.reduce(0) { $0 + Double($1) } }

    /// Serialized JSON (sorted keys, so the same replay always gives the same bytes).
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

    /// Reads and validates a replay file.
    public static func read(from path: String) throws -> Replay {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ReplayError.cannotRead(path: path, reason: error.localizedDescription)
        }
        // Check the format and version before decoding the rest, so a newer file says so plainly.
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ReplayError.malformed(path: path, detail: "not a JSON object (truncated or not a replay)")
        }
        guard object["format"] as? String == formatName else {
            throw ReplayError.malformed(path: path, detail: "the \"format\" field is not \"\(formatName)\"")
        }
        guard let version = object["version"] as? Int, version == currentVersion else {
            throw ReplayError.unsupportedVersion(path: path, found: "\(object["version"] ?? "none")", supported: currentVersion)
        }
        let replay: Replay
        do { replay = try JSONDecoder().decode(Replay.self, from: data) } catch let DecodingError.keyNotFound(key, _) {
            throw ReplayError.malformed(path: path, detail: "the field \"\(key.stringValue)\" is missing")
        } catch {
            throw ReplayError.malformed(path: path, detail: "a field has the wrong type (\(error))")
        }
        try replay.validate(path: path)
        return replay
    }

    func validate(path: String) throws {
        guard UInt64(seed) != nil else { throw ReplayError.malformed(path: path, detail: "seed \"\(seed)\" is not a 64-bit unsigned integer") }
        guard rewards.count == actions.count, checksums.count == actions.count else {
            throw ReplayError.malformed(path: path, detail: "\(actions.count) actions but \(rewards.count) rewards and \(checksums.count) checksums")
        }
        if let index = actions.firstIndex(where: { $0.count != actionWidth }) {
            throw ReplayError.malformed(path: path, detail: "action \(index) has \(actions[index].count) values, action_width is \(actionWidth)")
        }
        if let index = (checksums + [initialChecksum]).firstIndex(where: { UInt64($0, radix: 16) == nil }) {
            throw ReplayError.malformed(path: path, detail: "checksum \(index) is not 16 hex digits")
        }
        if let observations, observations.count != actions.count + 1 {
            throw ReplayError.malformed(path: path, detail: "\(observations.count) observations for \(actions.count) steps (expected steps + 1)")
        }
    }

    /// The outcome of re-simulating a replay.
    public enum Verification: Equatable, Sendable {
        case identical(steps: Int)
        /// The first step (0 = the state after reset, k = after action k) whose reward or checksum differs.
        case diverged(step: Int, detail: String)
    }

    /// Re-simulates on `environment` (built from `env` and `options`) and compares every reward and checksum.
    public func verify(on environment: any Environment) -> Verification {
        var observation = [Float](repeating: 0, count: environment.observationSpace.flatCount)
        environment.reset(seed: UInt64(seed)!, observation: &observation)
        if environment.stateChecksum.hex16 != initialChecksum {
            return .diverged(step: 0, detail: "state after reset has checksum \(environment.stateChecksum.hex16), replay has \(initialChecksum)")
        }
        for (index, action) in actions.enumerated() {
            let result = environment.step(action, observation: &observation)
            let checksum = environment.stateChecksum.hex16
            if result.reward.bitPattern != rewards[index].bitPattern || checksum != checksums[index] {
                return .diverged(step: index + 1, detail: "reward \(result.reward) vs \(rewards[index]), checksum \(checksum) vs \(checksums[index])")
            }
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
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case malformed(path: String, detail: String)
    case unsupportedVersion(path: String, found: String, supported: Int)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): return "\(path): cannot read the replay (\(reason))."
        case .cannotWrite(let path, let reason): return "\(path): cannot write the replay (\(reason)); check the folder exists and is writable."
        case .malformed(let path, let detail):
            return "\(path): not a valid Dojo replay: \(detail). Was it cut off or edited? Record it again with `dojo rollout ... --record`."
        case .unsupportedVersion(let path, let found, let supported):
            return "\(path): replay format version \(found); this dojo reads version \(supported). Use the dojo that recorded it."
        }
    }
}
