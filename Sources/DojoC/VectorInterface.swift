import Environments
import Foundation
import Sim

// The vector-environment half of include/dojo.h: create, describe, reset, step, info, render and record.

/// A vector environment behind a C handle, with the JSON description the caller reads.
final class VectorHandle: CHandle, @unchecked Sendable {
    let vector: VectorEnvironment<AnyEnvironment>
    let infoKeys: [String]
    let description: UnsafeMutablePointer<CChar>
    let lock = NSLock()
    /// Whether the copies were reset since creation or since the autoreset mode changed.
    var hasReset = false
    /// The actions buffer dojo_vector_bind bound, read by dojo_vector_step_bound.
    var boundActions: UnsafePointer<Float>?
    /// The buffer dojo_vector_bind_infos bound (copies × info keys), written after every step and reset.
    var boundInfos: UnsafeMutablePointer<Double>?

    /// Writes every copy's info into `values` (copies × info keys).
    func writeInfos(into values: UnsafeMutablePointer<Double>) {
        for copy in 0..<vector.count { vector.environments[copy].writeInfo(into: values + copy * infoKeys.count) }
    }

    /// Writes every copy's info into the bound buffer, if one is bound.
    func writeBoundInfos() {
        if let boundInfos { writeInfos(into: boundInfos) }
    }
    /// (copies) The seed copy i's episode started from, while that episode has not stepped yet (nil after an unseeded
    /// reset or an autoreset): a recording must start from a known seed.
    private var episodeSeeds: [UInt64?]
    private var hasSeededEpisodes = false
    let actionSpace: Space
    /// The goal-conditioned environment behind copy 0 (its reward function serves every copy), nil for others.
    let goals: (any GoalConditionedEnvironment)?
    /// The replays being recorded, by copy.
    private var recordings: [Int: ReplayRecording] = [:]
    /// The frame `render` draws into, made at the first render (most vectors are never rendered).
    private var canvas: Canvas?
    private let renderSize: (width: Int, height: Int)

    init(id: String, options: [String: String], copies: Int, threads: Int) throws {
        vector = try VectorEnvironment(count: copies, threads: threads) { _ in
            AnyEnvironment(try EnvironmentRegistry.make(id, options: options))
        }
        let first = vector.environments[0]
        infoKeys = first.infoKeys
        renderSize = first.renderSize
        episodeSeeds = Array(repeating: nil, count: copies)
        actionSpace = first.actionSpace
        goals = first.goalConditioned
        let goal: Any = goals.map { environment -> [String: Int] in
            let layout = environment.goalLayout
            return ["goal_size": layout.goalSize, "achieved_offset": layout.achievedOffset, "desired_offset": layout.desiredOffset,
                    "observation_offset": layout.observationOffset, "observation_size": layout.observationSize]
        } ?? NSNull()
        description = try jsonCString([
            "id": id, "copies": copies, "threads": vector.threads, "observation_size": vector.observationSize,
            "action_width": vector.actionWidth, "observation_space": first.observationSpace.description,
            "action_space": first.actionSpace.description, "info_keys": infoKeys,
            "observation": spaceJSON(first.observationSpace), "action": spaceJSON(first.actionSpace),
            "observation_kind": Self.kindName(first.observationKind),
            "cell_codes": first.observationKind.cellCodes.map { layout -> [String: Int] in
                ["cells": layout.cells, "planes": layout.planes, "marker_plane": layout.markerPlane, "extras": layout.extras]
            } ?? NSNull(),
            "render_fps": first.metadata.renderFPS, "action_names": first.metadata.actionNames,
            "render_width": first.renderSize.width, "render_height": first.renderSize.height, "options": first.options.values,
            "goal": goal,
        ] as [String: Any])
    }

    deinit {
        finishRecordings()
        free(description)
    }

    /// Resets copy `copy` with `seed`, or (nil) continuing its own generator. A recording in progress ends here.
    func reset(copy: Int, seed: UInt64?) {
        if recordings[copy] != nil { finishRecording(copy: copy) }
        vector.reset(copy: copy, seed: seed)
        if let boundInfos { vector.environments[copy].writeInfo(into: boundInfos + copy * infoKeys.count) }
        episodeSeeds[copy] = seed
        if seed != nil { hasSeededEpisodes = true }
    }

    /// Checks every used action against the action space, steps every copy and records the copies being recorded.
    /// Returns what went wrong in a step that happened (a diverged simulation, a replay that could not be written), or nil.
    func step(checking actions: UnsafePointer<Float>) throws -> String? {
        guard hasReset else { throw InterfaceError("step before reset: call dojo_vector_reset first") }
        try checkActions(actions)
        if vector.autoreset == .disabled, let copy = (0..<vector.count).first(where: { vector.ended[$0] }) {
            throw InterfaceError("copy \(copy)'s episode ended and autoreset is disabled: reset it (dojo_vector_reset_seeds) before stepping")
        }
        vector.step(actions)
        writeBoundInfos()
        // A simulation that diverged terminates its episode (with same-step autoreset the reset has cleared it already).
        // It is reported once the step is booked: the step happened, so recordings and seeds must follow it.
        var diverged: String?
        for copy in 0..<vector.count where vector.terminated[copy] {
            if let failure = vector.environments[copy].failure { diverged = "copy \(copy): \(failure)"; break }
        }
        if hasSeededEpisodes {
            for copy in 0..<vector.count { episodeSeeds[copy] = nil }
            hasSeededEpisodes = false
        }
        guard !recordings.isEmpty else { return diverged }
        var unwritten: [String] = []
        for copy in recordings.keys.sorted() {
            let width = vector.actionWidth
            let result = StepResult(reward: vector.rewards[copy], terminated: vector.terminated[copy], truncated: vector.truncated[copy])
            recordings[copy]?.recorder.record(action: Array(UnsafeBufferPointer(start: actions + copy * width, count: width)),
                                              result: result, environment: vector.environments[copy])
            if result.done, let problem = finishRecording(copy: copy) { unwritten.append(problem) }
        }
        if !unwritten.isEmpty { diverged = (diverged.map { $0 + "; " } ?? "") + "the step was taken, but \(unwritten.joined(separator: "; "))" }
        return diverged
    }

    /// Checks each row of `actions` against the action space, but for copies whose step only resets them (next-step
    /// autoreset), whose action is unused.
    func checkActions(_ actions: UnsafePointer<Float>) throws {
        let width = vector.actionWidth
        func unused(_ copy: Int) -> Bool { vector.autoreset == .nextStep && vector.ended[copy] }
        if case .discrete(let n) = actionSpace {
            // The common case without the general check's per-row cost.
            let limit = Float(n)
            for copy in 0..<vector.count where !unused(copy) {
                let value = actions[copy]
                if !(value >= 0 && value < limit && value == value.rounded()) {
                    throw InterfaceError("copy \(copy)'s action: \(value) is not a whole number in 0...\(n - 1) (\(actionSpace))")
                }
            }
            return
        }
        for copy in 0..<vector.count where !unused(copy) {
            if let problem = actionSpace.validate(action: UnsafeBufferPointer(start: actions + copy * width, count: width)) {
                throw InterfaceError("copy \(copy)'s action: \(problem)")
            }
        }
    }

    /// Starts recording copy `copy`'s episode, which must have just been reset from a seed, into `path`.
    func record(copy: Int, path: String) throws {
        guard vector.autoreset != .sameStep else {
            throw InterfaceError("recording needs next_step or disabled autoreset (with same_step the last state of an episode is gone before it can be checksummed); call dojo_vector_set_autoreset first")
        }
        guard recordings[copy] == nil else { throw InterfaceError("copy \(copy) is being recorded already; stop that recording first") }
        guard let seed = episodeSeeds[copy] else {
            throw InterfaceError("copy \(copy)'s episode did not start from a seed, or has stepped already: a replay starts at a seeded reset, so reset the copy with a seed (dojo_vector_reset or dojo_vector_reset_seeds) and record before stepping")
        }
        let file = try ReplayFile(claiming: path)
        recordings[copy] = ReplayRecording(file: file, recorder: ReplayRecorder(environment: vector.environments[copy], seed: seed,
                                                                                metadata: ["recorded_by": "dojo C interface"]))
    }

    /// Writes copy `copy`'s recording and forgets it; a message if it could not be written.
    @discardableResult
    func finishRecording(copy: Int) -> String? {
        guard let recording = recordings.removeValue(forKey: copy) else { return nil }
        do { try recording.file.write(recording.recorder.replay) } catch { return "\(error)" }
        return nil
    }

    func finishRecordings() {
        for copy in recordings.keys.sorted() { finishRecording(copy: copy) }
    }

    /// Renders copy `copy` as RGB into `rgb` (height × width × 3 bytes).
    func render(copy: Int, into rgb: UnsafeMutablePointer<UInt8>) {
        var canvas = self.canvas.take() ?? Canvas(width: renderSize.width, height: renderSize.height)  // taken: no copy on write
        defer { self.canvas = canvas }
        vector.environments[copy].render(into: &canvas)
        canvas.pixels.withUnsafeBufferPointer { rgba in
            for pixel in 0..<(canvas.width * canvas.height) {
                rgb[3 * pixel] = rgba[4 * pixel]
                rgb[3 * pixel + 1] = rgba[4 * pixel + 1]
                rgb[3 * pixel + 2] = rgba[4 * pixel + 2]
            }
        }
    }

    var renderCount: Int { renderSize.width * renderSize.height * 3 }

    /// Checks that `copy` names one of the vector's copies.
    func checkCopy(_ copy: Int32) throws {
        guard (0..<Int32(vector.count)).contains(copy) else { throw InterfaceError("copy \(copy) is outside 0..<\(vector.count)") }
    }

    /// Copies the observations into the caller's buffer after checking its size.
    func writeObservations(_ observations: UnsafeMutablePointer<Float>?, _ count: Int64) throws {
        guard let observations else { throw InterfaceError("observations is NULL") }
        try checkCount(count, vector.count * vector.observationSize, "observations")
        if observations != vector.observations { observations.update(from: vector.observations, count: vector.count * vector.observationSize) }
    }
}

/// A replay being recorded and the file it goes to.
struct ReplayRecording {
    let file: ReplayFile
    var recorder: ReplayRecorder
}

/// A replay's file: its name is claimed when recording starts (created empty, exclusively, so another file is never
/// replaced), and the replay is written beside it and renamed over the claim at the end, so the file is never partial.
struct ReplayFile {
    let path: String

    init(claiming path: String) throws {
        guard !path.isEmpty, path.utf8.count < 4_096 else { throw InterfaceError("the replay path must be 1 to 4,095 bytes") }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            let reason = errno == EEXIST ? "it exists; Dojo never replaces a file, so choose a new name" : String(cString: strerror(errno))
            throw InterfaceError("cannot create the replay \(path): \(reason)")
        }
        close(descriptor)
        self.path = path
    }

    func write(_ replay: Replay) throws {
        let temporary = path + ".partial"
        func failure(_ reason: String) -> InterfaceError { InterfaceError("the replay \(path) could not be written: \(reason)") }
        let data: Data
        do { data = try replay.encoded() } catch { throw failure("\(error)") }
        // Created exclusively, as the claim was: a file that happens to have this name is never replaced or removed.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            let reason = errno == EEXIST ? "\(temporary) exists; Dojo never replaces a file" : String(cString: strerror(errno))
            throw failure("cannot create \(temporary): \(reason)")
        }
        var problem: String?
        data.withUnsafeBytes { bytes in
            var offset = 0
            while problem == nil, offset < bytes.count, let base = bytes.baseAddress {
                let written = Foundation.write(descriptor, base + offset, bytes.count - offset)
                if written > 0 { offset += written } else if errno != EINTR { problem = String(cString: strerror(errno)) }
            }
        }
        if close(descriptor) != 0, problem == nil { problem = String(cString: strerror(errno)) }
        if problem == nil, rename(temporary, path) != 0 { problem = String(cString: strerror(errno)) }
        if let problem {
            unlink(temporary)
            throw failure(problem)
        }
    }
}

extension VectorHandle {
    /// The observation kind for other languages: "continuous", "binary" (every value 0 or 1) or "cell_codes" (one
    /// integer code per cell, 0...31, then the extras; `GridWorld`'s `encoding=codes`).
    static func kindName(_ kind: ObservationKind) -> String {
        switch kind {
        case .continuous: return "continuous"
        case .binary: return "binary"
        case .cellCodes: return "cell_codes"
        }
    }
}

/// A space as JSON for other languages: {"type": "discrete", "n"}, {"type": "box", "low", "high", "shape"} (bounds as
/// numbers, ±1e38 for unbounded), {"type": "multi_discrete", "nvec"}, or {"type": "entity_set", "rows", "features"}
/// (rows of features whose first column is presence, 1 for a present entity and 0 for padding), or {"type": "dict",
/// "keys", "spaces"} (named parts, keys sorted; an element is the parts' values concatenated in key order).
func spaceJSON(_ space: Space) -> [String: Any] {
    func finite(_ values: [Float]) -> [Double] { values.map { Double(max(min($0, 1e38), -1e38)) } }
    switch space {
    case .discrete(let n): return ["type": "discrete", "n": n]
    case .box(let low, let high, let shape): return ["type": "box", "low": finite(low), "high": finite(high), "shape": shape]
    case .multiDiscrete(let counts): return ["type": "multi_discrete", "nvec": counts]
    case .entitySet(let rows, let features): return ["type": "entity_set", "rows": rows, "features": features]
    case .dict(let keys, let spaces): return ["type": "dict", "keys": keys, "spaces": spaces.map(spaceJSON)]
    }
}

let vectors = HandleTable<VectorHandle>(kind: "vector", maker: "dojo_vector_create")

// MARK: Exported functions

@_cdecl("dojo_vector_create")
public func dojo_vector_create(_ id: UnsafePointer<CChar>?, _ optionsJSON: UnsafePointer<CChar>?, _ copies: Int32,
                               _ threads: Int32) -> OpaquePointer? {
    guarded(nil) {
        let id = try text(id, "id")
        guard (1...1_024).contains(copies) else { throw InterfaceError("copies must be in 1...1024 (got \(copies))") }
        guard (1...256).contains(threads) else { throw InterfaceError("threads must be in 1...256 (got \(threads))") }
        var options: [String: String] = [:]
        if let optionsJSON, optionsJSON.pointee != 0 {
            let raw = try text(optionsJSON, "options_json")
            guard raw.utf8.count <= 1 << 16 else { throw InterfaceError("options_json holds \(raw.utf8.count) bytes; at most 65,536") }
            guard let object = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any] else {
                throw InterfaceError("options_json must be a JSON object of option names to values, e.g. {\"map\": \"key-door\"}")
            }
            for (name, value) in object {
                switch value {
                case let text as String: options[name] = text
                // JSON's true and false arrive as numbers; written as Dojo writes booleans, never as 1 and 0.
                case let number as NSNumber where isBoolean(number): options[name] = number.boolValue ? "true" : "false"
                case let number as NSNumber: options[name] = number.stringValue
                default: throw InterfaceError("option \(quotedForMessage(name)) must be a string, a number or a boolean")
                }
                // A NUL would end the value early wherever it becomes a C string (a map's path).
                guard !name.utf8.contains(0), !options[name, default: ""].utf8.contains(0) else {
                    throw InterfaceError("option \(quotedForMessage(name)) holds a NUL character; names and values must not")
                }
            }
        }
        return try vectors.insert(try VectorHandle(id: id, options: options, copies: Int(copies), threads: Int(threads)))
    }
}

/// Whether a number from JSONSerialization was JSON's true or false.
private func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

@_cdecl("dojo_vector_destroy")
public func dojo_vector_destroy(_ vector: OpaquePointer?) { vectors.remove(vector) }

@_cdecl("dojo_vector_describe")
public func dojo_vector_describe(_ vector: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try vectors.find(vector).description) }
}

@_cdecl("dojo_vector_set_autoreset")
public func dojo_vector_set_autoreset(_ vector: OpaquePointer?, _ mode: Int32) -> Int32 {
    vectors.with(vector, -1) { handle in
        let modes: [AutoresetMode] = [.sameStep, .nextStep, .disabled]
        guard modes.indices.contains(Int(mode)) else {
            throw InterfaceError("autoreset mode \(mode) is not one of DOJO_AUTORESET_SAME_STEP (0), DOJO_AUTORESET_NEXT_STEP (1), DOJO_AUTORESET_DISABLED (2)")
        }
        handle.finishRecordings()
        handle.vector.autoreset = modes[Int(mode)]
        handle.hasReset = false
        return 0
    }
}

@_cdecl("dojo_vector_reset")
public func dojo_vector_reset(_ vector: OpaquePointer?, _ seed: UInt64, _ observations: UnsafeMutablePointer<Float>?,
                              _ observationsCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        guard observations != nil else { throw InterfaceError("observations is NULL") }
        try checkCount(observationsCount, handle.vector.count * handle.vector.observationSize, "observations")
        for copy in 0..<handle.vector.count {
            handle.reset(copy: copy, seed: VectorEnvironment<AnyEnvironment>.copySeed(seed, index: copy))
        }
        handle.hasReset = true
        try handle.writeObservations(observations, observationsCount)
        return 0
    }
}

@_cdecl("dojo_vector_reset_seeds")
public func dojo_vector_reset_seeds(_ vector: OpaquePointer?, _ seeds: UnsafePointer<UInt64>?, _ seedsCount: Int64,
                                    _ observations: UnsafeMutablePointer<Float>?, _ observationsCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        guard observations != nil else { throw InterfaceError("observations is NULL") }
        if seeds != nil { try checkCount(seedsCount, handle.vector.count, "seeds") }
        try checkCount(observationsCount, handle.vector.count * handle.vector.observationSize, "observations")
        for copy in 0..<handle.vector.count { handle.reset(copy: copy, seed: seeds.map { $0[copy] }) }
        handle.hasReset = true
        try handle.writeObservations(observations, observationsCount)
        return 0
    }
}

@_cdecl("dojo_vector_reset_copy")
public func dojo_vector_reset_copy(_ vector: OpaquePointer?, _ copy: Int32, _ seed: UnsafePointer<UInt64>?,
                                   _ observation: UnsafeMutablePointer<Float>?, _ observationCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        try handle.checkCopy(copy)
        guard handle.hasReset else { throw InterfaceError("reset every copy first (dojo_vector_reset or dojo_vector_reset_seeds)") }
        guard let observation else { throw InterfaceError("observation is NULL") }
        let size = handle.vector.observationSize
        try checkCount(observationCount, size, "observation")
        handle.reset(copy: Int(copy), seed: seed?.pointee)
        let row = handle.vector.observations + Int(copy) * size
        if observation != row { observation.update(from: row, count: size) }
        return 0
    }
}

@_cdecl("dojo_vector_step")
public func dojo_vector_step(_ vector: OpaquePointer?, _ actions: UnsafePointer<Float>?, _ actionsCount: Int64,
                             _ observations: UnsafeMutablePointer<Float>?, _ finalObservations: UnsafeMutablePointer<Float>?,
                             _ observationsCount: Int64, _ rewards: UnsafeMutablePointer<Float>?,
                             _ terminated: UnsafeMutablePointer<UInt8>?, _ truncated: UnsafeMutablePointer<UInt8>?,
                             _ copiesCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        let v = handle.vector
        guard let actions, let observations, let rewards, let terminated, let truncated else {
            throw InterfaceError("actions, observations, rewards, terminated and truncated must not be NULL")
        }
        try checkCount(actionsCount, v.count * v.actionWidth, "actions")
        try checkCount(observationsCount, v.count * v.observationSize, "observations")
        try checkCount(copiesCount, v.count, "rewards, terminated and truncated")
        // The outputs are written even when a replay could not be saved: the step itself happened.
        let problem = try handle.step(checking: actions)
        func copy<T>(_ from: UnsafeMutablePointer<T>, to: UnsafeMutablePointer<T>, _ count: Int) {
            if from != to { to.update(from: from, count: count) }  // bound buffers are written already
        }
        let values = v.count * v.observationSize
        copy(v.observations, to: observations, values)
        if let finalObservations { copy(v.finalObservations, to: finalObservations, values) }
        copy(v.rewards, to: rewards, v.count)
        copy(boolBytes(v.terminated), to: terminated, v.count)
        copy(boolBytes(v.truncated), to: truncated, v.count)
        if let problem { throw InterfaceError(problem) }
        return 0
    }
}

/// A Bool buffer as the bytes C sees (Swift's Bool is one byte, 0 or 1).
func boolBytes(_ flags: UnsafeMutablePointer<Bool>) -> UnsafeMutablePointer<UInt8> {
    UnsafeMutableRawPointer(flags).assumingMemoryBound(to: UInt8.self)
}

@_cdecl("dojo_vector_bind")
public func dojo_vector_bind(_ vector: OpaquePointer?, _ actions: UnsafeMutablePointer<Float>?, _ actionsCount: Int64,
                             _ observations: UnsafeMutablePointer<Float>?, _ finalObservations: UnsafeMutablePointer<Float>?,
                             _ observationsCount: Int64, _ rewards: UnsafeMutablePointer<Float>?,
                             _ terminated: UnsafeMutablePointer<UInt8>?, _ truncated: UnsafeMutablePointer<UInt8>?,
                             _ copiesCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        let v = handle.vector
        guard let actions, let observations, let finalObservations, let rewards, let terminated, let truncated else {
            throw InterfaceError("every buffer passed to dojo_vector_bind must be non-NULL")
        }
        try checkCount(actionsCount, v.count * v.actionWidth, "actions")
        try checkCount(observationsCount, v.count * v.observationSize, "observations")
        try checkCount(copiesCount, v.count, "rewards, terminated and truncated")
        func flags(_ bytes: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<Bool> {
            UnsafeMutableRawPointer(bytes).assumingMemoryBound(to: Bool.self)
        }
        v.writeResults(observations: observations, finalObservations: finalObservations, rewards: rewards,
                       terminated: flags(terminated), truncated: flags(truncated))
        handle.boundActions = UnsafePointer(actions)
        return 0
    }
}

@_cdecl("dojo_vector_bind_infos")
public func dojo_vector_bind_infos(_ vector: OpaquePointer?, _ values: UnsafeMutablePointer<Double>?, _ valuesCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        if let values {
            try checkCount(valuesCount, handle.vector.count * handle.infoKeys.count, "values")
            handle.boundInfos = values
            handle.writeBoundInfos()
        } else {
            handle.boundInfos = nil
        }
        return 0
    }
}

@_cdecl("dojo_vector_step_bound")
public func dojo_vector_step_bound(_ vector: OpaquePointer?) -> Int32 {
    vectors.with(vector, -1) { handle in
        guard let actions = handle.boundActions else { throw InterfaceError("no buffers are bound: call dojo_vector_bind first") }
        if let problem = try handle.step(checking: actions) { throw InterfaceError(problem) }
        return 0
    }
}

@_cdecl("dojo_vector_episodes")
public func dojo_vector_episodes(_ vector: OpaquePointer?, _ returns: UnsafeMutablePointer<Double>?,
                                 _ lengths: UnsafeMutablePointer<Int64>?, _ copiesCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        let v = handle.vector
        guard let returns, let lengths else { throw InterfaceError("returns and lengths must not be NULL") }
        try checkCount(copiesCount, v.count, "returns and lengths")
        returns.update(from: v.finishedReturns, count: v.count)
        for copy in 0..<v.count { lengths[copy] = Int64(v.finishedLengths[copy]) }
        return 0
    }
}

@_cdecl("dojo_vector_info")
public func dojo_vector_info(_ vector: OpaquePointer?, _ copy: Int32, _ values: UnsafeMutablePointer<Double>?,
                             _ valuesCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        try handle.checkCopy(copy)
        guard let values else { throw InterfaceError("values is NULL") }
        try checkCount(valuesCount, handle.infoKeys.count, "values")
        handle.vector.environments[Int(copy)].writeInfo(into: values)
        return 0
    }
}

@_cdecl("dojo_vector_infos")
public func dojo_vector_infos(_ vector: OpaquePointer?, _ values: UnsafeMutablePointer<Double>?, _ valuesCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        guard let values else { throw InterfaceError("values is NULL") }
        try checkCount(valuesCount, handle.vector.count * handle.infoKeys.count, "values")
        handle.writeInfos(into: values)
        return 0
    }
}

@_cdecl("dojo_vector_render")
public func dojo_vector_render(_ vector: OpaquePointer?, _ copy: Int32, _ rgb: UnsafeMutablePointer<UInt8>?,
                               _ rgbCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        try handle.checkCopy(copy)
        guard let rgb else { throw InterfaceError("rgb is NULL") }
        try checkCount(rgbCount, handle.renderCount, "rgb")
        handle.render(copy: Int(copy), into: rgb)
        return 0
    }
}

@_cdecl("dojo_vector_record")
public func dojo_vector_record(_ vector: OpaquePointer?, _ copy: Int32, _ path: UnsafePointer<CChar>?) -> Int32 {
    vectors.with(vector, -1) { handle in
        try handle.checkCopy(copy)
        if let path {
            try handle.record(copy: Int(copy), path: try text(path, "path"))
        } else if let problem = handle.finishRecording(copy: Int(copy)) {
            throw InterfaceError(problem)
        }
        return 0
    }
}

@_cdecl("dojo_vector_compute_reward")
public func dojo_vector_compute_reward(_ vector: OpaquePointer?, _ achieved: UnsafePointer<Float>?, _ desired: UnsafePointer<Float>?,
                                       _ goalsCount: Int64, _ rewards: UnsafeMutablePointer<Float>?, _ rewardsCount: Int64) -> Int32 {
    vectors.with(vector, -1) { handle in
        guard let goals = handle.goals else {
            throw InterfaceError("\(handle.vector.environments[0].id) with these options is not goal-conditioned (its \"goal\" is null); "
                                 + "build a goal task, e.g. arm with goal=true")
        }
        let size = goals.goalLayout.goalSize
        guard rewardsCount >= 0, rewardsCount <= Int64(Int.max) / Int64(size) else {
            throw InterfaceError("rewards_count must be a count of goal pairs, 0 or more (got \(rewardsCount))")
        }
        try checkCount(goalsCount, Int(rewardsCount) * size, "achieved and desired (rewards_count × goal_size \(size))")
        guard rewardsCount > 0 else { return 0 }
        guard let achieved, let desired, let rewards else { throw InterfaceError("achieved, desired and rewards must not be NULL") }
        goals.computeReward(achieved: achieved, desired: desired, count: Int(rewardsCount), into: rewards)
        return 0
    }
}
