import Environments
import Foundation
import Sim
import Synchronization

// The C interface declared in include/dojo.h: every function checks its arguments, reports failures through a
// per-thread message, and never traps on what a caller passes.

/// The library version and the ABI version of include/dojo.h.
let libraryVersion = "0.1.0"
let abiVersion: Int32 = 1

// MARK: Errors

/// The calling thread's last error message (a C string owned by that thread, freed when replaced or at thread exit).
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    guard pthread_key_create(&key, { free($0) }) == 0 else { preconditionFailure("no thread-specific key left for dojo errors") }
    return key
}()

/// Records `message` as the calling thread's last error.
func fail(_ message: String) {
    free(pthread_getspecific(errorKey))
    pthread_setspecific(errorKey, strdup(message))
}

/// Runs `body`, turning a thrown error into the thread's last error and `failure`.
func guarded<T>(_ failure: T, _ body: () throws -> T) -> T {
    do { return try body() } catch let error as InterfaceError { fail(error.message); return failure } catch {
        fail("\(error)")
        return failure
    }
}

struct InterfaceError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A C string from the caller, or an error naming the argument.
func text(_ pointer: UnsafePointer<CChar>?, _ argument: String) throws -> String {
    guard let pointer else { throw InterfaceError("\(argument) is NULL; pass a C string") }
    return String(cString: pointer)
}

// MARK: Handles

/// A vector environment behind a C handle, with the JSON description the caller reads and a lock that serializes
/// calls on it.
final class VectorHandle: @unchecked Sendable {
    let vector: VectorEnvironment<AnyEnvironment>
    let infoKeys: [String]
    let description: UnsafeMutablePointer<CChar>
    let lock = NSLock()
    private(set) var hasReset = false
    /// The frame `render` draws into, made at the first render (most vectors are never rendered).
    private var canvas: Canvas?
    private let renderSize: (width: Int, height: Int)

    init(id: String, options: [String: String], copies: Int, threads: Int) throws {
        vector = try VectorEnvironment(count: copies, threads: threads) { _ in
            AnyEnvironment(try EnvironmentRegistry.make(id, options: options))
        }
        let first = vector.environments[0]
        infoKeys = first.info.keys.sorted()
        renderSize = first.renderSize
        let report: [String: Any] = [
            "id": id, "copies": copies, "threads": vector.threads, "observation_size": vector.observationSize,
            "action_width": vector.actionWidth, "observation_space": first.observationSpace.description,
            "action_space": first.actionSpace.description, "info_keys": infoKeys,
            "observation": spaceJSON(first.observationSpace), "action": spaceJSON(first.actionSpace),
            "observation_kind": first.observationKind == .binary ? "binary" : "continuous",
            "render_fps": first.metadata.renderFPS, "action_names": first.metadata.actionNames,
            "render_width": first.renderSize.width, "render_height": first.renderSize.height, "options": first.options.values,
        ]
        let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .withoutEscapingSlashes])
        description = strdup(String(decoding: json, as: UTF8.self))
    }

    deinit { free(description) }

    func reset(seed: UInt64) {
        vector.reset(seed: seed)
        hasReset = true
    }

    /// Resets each copy with its seed, or (`seeds` nil) continuing its own generator, as `reset(seed: nil)` does.
    func reset(seeds: UnsafePointer<UInt64>?) {
        for copy in 0..<vector.count {
            if let seeds { vector.reset(copy: copy, seed: seeds[copy]) } else { vector.reset(copy: copy, seed: nil) }
        }
        hasReset = true
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
}

/// A space as JSON for other languages: {"type": "discrete", "n"}, {"type": "box", "low", "high", "shape"} (bounds as
/// numbers, ±1e38 for unbounded), {"type": "multi_discrete", "nvec"}, or {"type": "entity_set", "rows", "features"}
/// (rows of features whose first column is presence, 1 for a present entity and 0 for padding).
func spaceJSON(_ space: Space) -> [String: Any] {
    func finite(_ values: [Float]) -> [Double] { values.map { Double(max(min($0, 1e38), -1e38)) } }
    switch space {
    case .discrete(let n): return ["type": "discrete", "n": n]
    case .box(let low, let high, let shape): return ["type": "box", "low": finite(low), "high": finite(high), "shape": shape]
    case .multiDiscrete(let counts): return ["type": "multi_discrete", "nvec": counts]
    case .entitySet(let rows, let features): return ["type": "entity_set", "rows": rows, "features": features]
    }
}

/// The live handles by address: a destroyed or foreign pointer is found missing instead of being dereferenced.
let handles = Mutex<[UInt: VectorHandle]>([:])

/// The handle `pointer` names, or an error for NULL and for handles already destroyed.
func handle(_ pointer: OpaquePointer?) throws -> VectorHandle {
    guard let pointer else { throw InterfaceError("the vector handle is NULL") }
    guard let found = handles.withLock({ $0[UInt(bitPattern: UnsafeRawPointer(pointer))] }) else {
        throw InterfaceError("the vector handle is not a live vector (destroyed already, or never created by dojo_vector_create)")
    }
    return found
}

/// Runs `body` with the live handle `pointer` names, holding its lock; a failure becomes the thread's last error and
/// `failure`.
func withVector<T>(_ pointer: OpaquePointer?, _ failure: T, _ body: (VectorHandle) throws -> T) -> T {
    guarded(failure) {
        let handle = try handle(pointer)
        handle.lock.lock(); defer { handle.lock.unlock() }
        return try body(handle)
    }
}

extension VectorHandle {
    /// Checks that `copy` names one of the vector's copies.
    func checkCopy(_ copy: Int32) throws {
        guard (0..<Int32(vector.count)).contains(copy) else { throw InterfaceError("copy \(copy) is outside 0..<\(vector.count)") }
    }
}

/// Checks that a caller's buffer holds exactly `expected` elements.
func checkCount(_ count: Int64, _ expected: Int, _ name: String) throws {
    guard count == Int64(expected) else {
        throw InterfaceError("\(name) holds \(count) elements; this vector needs exactly \(expected)")
    }
}

// MARK: Exported functions

@_cdecl("dojo_version")
public func dojo_version() -> UnsafePointer<CChar> { UnsafePointer(versionString) }
nonisolated(unsafe) private let versionString: UnsafeMutablePointer<CChar> = strdup(libraryVersion)

@_cdecl("dojo_abi_version")
public func dojo_abi_version() -> Int32 { abiVersion }

@_cdecl("dojo_last_error")
public func dojo_last_error() -> UnsafePointer<CChar>? {
    pthread_getspecific(errorKey).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) }
}

nonisolated(unsafe) private let environmentsJSON: UnsafeMutablePointer<CChar> = {
    let report: [[String: Any]] = EnvironmentRegistry.entries.map { entry in
        let env = try? entry.make([:])
        return ["id": entry.id, "summary": entry.summary,
                "observation_space": env?.observationSpace.description ?? "", "action_space": env?.actionSpace.description ?? "",
                "options": entry.optionSpecs.map { ["name": $0.name, "default": $0.defaultValue, "accepts": $0.accepted, "summary": $0.summary] }]
    }
    let data = (try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("[]".utf8)
    return strdup(String(decoding: data, as: UTF8.self))
}()

@_cdecl("dojo_environments_json")
public func dojo_environments_json() -> UnsafePointer<CChar> { UnsafePointer(environmentsJSON) }

@_cdecl("dojo_vector_create")
public func dojo_vector_create(_ id: UnsafePointer<CChar>?, _ optionsJSON: UnsafePointer<CChar>?, _ copies: Int32,
                               _ threads: Int32) -> OpaquePointer? {
    guarded(nil) {
        let id = try text(id, "id")
        guard (1...1_024).contains(copies) else { throw InterfaceError("copies must be in 1...1024 (got \(copies))") }
        guard (1...256).contains(threads) else { throw InterfaceError("threads must be in 1...256 (got \(threads))") }
        var options: [String: String] = [:]
        if let optionsJSON, optionsJSON.pointee != 0 {
            let raw = String(cString: optionsJSON)
            guard raw.utf8.count <= 1 << 16,
                  let object = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any] else {
                throw InterfaceError("options_json must be a JSON object of option names to values, e.g. {\"map\": \"key-door\"}")
            }
            for (name, value) in object {
                switch value {
                case let text as String: options[name] = text
                case let number as NSNumber: options[name] = number.stringValue
                default: throw InterfaceError("option \(quotedForMessage(name)) must be a string or a number")
                }
            }
        }
        let handle = try VectorHandle(id: id, options: options, copies: Int(copies), threads: Int(threads))
        let pointer = Unmanaged.passUnretained(handle).toOpaque()
        handles.withLock { $0[UInt(bitPattern: pointer)] = handle }
        return OpaquePointer(pointer)
    }
}

@_cdecl("dojo_vector_destroy")
public func dojo_vector_destroy(_ vector: OpaquePointer?) {
    guard let vector else { return }
    let removed = handles.withLock { $0.removeValue(forKey: UInt(bitPattern: UnsafeRawPointer(vector))) }
    // Wait for a call in progress on another thread to finish before the last reference goes.
    removed?.lock.lock()
    removed?.lock.unlock()
}

@_cdecl("dojo_vector_describe")
public func dojo_vector_describe(_ vector: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try handle(vector).description) }
}

@_cdecl("dojo_vector_reset")
public func dojo_vector_reset(_ vector: OpaquePointer?, _ seed: UInt64, _ observations: UnsafeMutablePointer<Float>?,
                              _ observationsCount: Int64) -> Int32 {
    withVector(vector, -1) { handle in
        let v = handle.vector
        guard let observations else { throw InterfaceError("observations is NULL") }
        try checkCount(observationsCount, v.count * v.observationSize, "observations")
        handle.reset(seed: seed)
        observations.update(from: v.observations, count: v.count * v.observationSize)
        return 0
    }
}

@_cdecl("dojo_vector_reset_seeds")
public func dojo_vector_reset_seeds(_ vector: OpaquePointer?, _ seeds: UnsafePointer<UInt64>?, _ seedsCount: Int64,
                                    _ observations: UnsafeMutablePointer<Float>?, _ observationsCount: Int64) -> Int32 {
    withVector(vector, -1) { handle in
        let v = handle.vector
        guard let observations else { throw InterfaceError("observations is NULL") }
        if seeds != nil { try checkCount(seedsCount, v.count, "seeds") }
        try checkCount(observationsCount, v.count * v.observationSize, "observations")
        handle.reset(seeds: seeds)
        observations.update(from: v.observations, count: v.count * v.observationSize)
        return 0
    }
}

@_cdecl("dojo_vector_step")
public func dojo_vector_step(_ vector: OpaquePointer?, _ actions: UnsafePointer<Float>?, _ actionsCount: Int64,
                             _ observations: UnsafeMutablePointer<Float>?, _ finalObservations: UnsafeMutablePointer<Float>?,
                             _ observationsCount: Int64, _ rewards: UnsafeMutablePointer<Float>?,
                             _ terminated: UnsafeMutablePointer<UInt8>?, _ truncated: UnsafeMutablePointer<UInt8>?,
                             _ copiesCount: Int64) -> Int32 {
    withVector(vector, -1) { handle in
        let v = handle.vector
        guard handle.hasReset else { throw InterfaceError("step before reset: call dojo_vector_reset first") }
        guard let actions, let observations, let rewards, let terminated, let truncated else {
            throw InterfaceError("actions, observations, rewards, terminated and truncated must not be NULL")
        }
        try checkCount(actionsCount, v.count * v.actionWidth, "actions")
        try checkCount(observationsCount, v.count * v.observationSize, "observations")
        try checkCount(copiesCount, v.count, "rewards, terminated and truncated")
        let space = v.environments[0].actionSpace
        for copy in 0..<v.count {
            if let problem = space.validate(action: UnsafeBufferPointer(start: actions + copy * v.actionWidth, count: v.actionWidth)) {
                throw InterfaceError("copy \(copy)'s action: \(problem)")
            }
        }
        v.step(actions)
        for copy in 0..<v.count where v.environments[copy].failure != nil {
            throw InterfaceError("copy \(copy): \(v.environments[copy].failure.map { "\($0)" } ?? "")")
        }
        let values = v.count * v.observationSize
        observations.update(from: v.observations, count: values)
        finalObservations?.update(from: v.finalObservations, count: values)
        rewards.update(from: v.rewards, count: v.count)
        for copy in 0..<v.count {
            terminated[copy] = v.terminated[copy] ? 1 : 0
            truncated[copy] = v.truncated[copy] ? 1 : 0
        }
        return 0
    }
}

@_cdecl("dojo_vector_info")
public func dojo_vector_info(_ vector: OpaquePointer?, _ copy: Int32, _ values: UnsafeMutablePointer<Double>?,
                             _ valuesCount: Int64) -> Int32 {
    withVector(vector, -1) { handle in
        try handle.checkCopy(copy)
        guard let values else { throw InterfaceError("values is NULL") }
        try checkCount(valuesCount, handle.infoKeys.count, "values")
        let info = handle.vector.environments[Int(copy)].info
        for (k, key) in handle.infoKeys.enumerated() { values[k] = info[key] ?? .nan }
        return 0
    }
}

@_cdecl("dojo_vector_render")
public func dojo_vector_render(_ vector: OpaquePointer?, _ copy: Int32, _ rgb: UnsafeMutablePointer<UInt8>?,
                               _ rgbCount: Int64) -> Int32 {
    withVector(vector, -1) { handle in
        try handle.checkCopy(copy)
        guard let rgb else { throw InterfaceError("rgb is NULL") }
        try checkCount(rgbCount, handle.renderCount, "rgb")
        handle.render(copy: Int(copy), into: rgb)
        return 0
    }
}
