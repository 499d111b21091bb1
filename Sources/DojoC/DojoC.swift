import Environments
import Foundation
import Sim
import Synchronization

// The C interface declared in include/dojo.h: every function checks its arguments, reports failures through a
// per-thread message, and never traps on what a caller passes.

/// The library version and the ABI version of include/dojo.h.
let libraryVersion = "0.1.0"
let abiVersion: Int32 = 2

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

/// A C string from the caller, or an error naming the argument. Bytes that are not UTF-8 are refused rather than
/// repaired: a repaired path would name another file than the caller's.
func text(_ pointer: UnsafePointer<CChar>?, _ argument: String) throws -> String {
    guard let pointer else { throw InterfaceError("\(argument) is NULL; pass a C string") }
    guard let text = String(validatingCString: pointer) else { throw InterfaceError("\(argument) is not valid UTF-8; pass UTF-8 text") }
    return text
}

// MARK: Handles

/// An object behind a C handle; calls on it are serialized by its lock.
protocol CHandle: AnyObject, Sendable {
    var lock: NSLock { get }
}

/// Handle numbers, shared by every table (a handle of one kind is never live in another) and never reused.
private let nextHandle = Atomic<UInt>(1)

/// The live objects of one kind by handle: a destroyed or foreign pointer is found missing instead of being
/// dereferenced. A handle is a number, not the object's address, so a destroyed handle never comes back to life as a
/// new object that happens to be allocated at the same address.
final class HandleTable<Object: CHandle>: Sendable {
    private let live = Mutex<[UInt: Object]>([:])
    /// What the handles are, for messages ("vector", "policy").
    let kind: String
    /// The function that makes them, for messages.
    let maker: String

    init(kind: String, maker: String) { self.kind = kind; self.maker = maker }

    func insert(_ object: Object) throws -> OpaquePointer {
        // Multiples of 16, as aligned addresses would be.
        guard let pointer = OpaquePointer(bitPattern: nextHandle.add(1, ordering: .relaxed).oldValue << 4) else {
            throw InterfaceError("no \(kind) handles are left in this process")
        }
        live.withLock { $0[UInt(bitPattern: UnsafeRawPointer(pointer))] = object }
        return pointer
    }

    /// The object `pointer` names, or an error for NULL and for handles already destroyed.
    func find(_ pointer: OpaquePointer?) throws -> Object {
        guard let pointer else { throw InterfaceError("the \(kind) handle is NULL") }
        guard let found = live.withLock({ $0[UInt(bitPattern: UnsafeRawPointer(pointer))] }) else {
            throw InterfaceError("the \(kind) handle is not a live \(kind) (destroyed already, or never made by \(maker))")
        }
        return found
    }

    /// Forgets `pointer`'s object, after waiting for a call in progress on another thread to finish.
    func remove(_ pointer: OpaquePointer?) {
        guard let pointer else { return }
        let removed = live.withLock { $0.removeValue(forKey: UInt(bitPattern: UnsafeRawPointer(pointer))) }
        removed?.lock.lock()
        removed?.lock.unlock()
    }

    /// Runs `body` with the live object `pointer` names, holding its lock; a failure becomes the thread's last error
    /// and `failure`.
    func with<T>(_ pointer: OpaquePointer?, _ failure: T, _ body: (Object) throws -> T) -> T {
        guarded(failure) {
            let object = try find(pointer)
            object.lock.lock(); defer { object.lock.unlock() }
            return try body(object)
        }
    }
}

/// Checks that a caller's buffer holds exactly `expected` elements.
func checkCount(_ count: Int64, _ expected: Int, _ name: String) throws {
    guard count == Int64(expected) else {
        throw InterfaceError("\(name) holds \(count) elements; this needs exactly \(expected)")
    }
}

/// A JSON object as a C string the caller reads (freed by its owner).
func jsonCString(_ object: Any) throws -> UnsafeMutablePointer<CChar> {
    let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return strdup(String(decoding: json, as: UTF8.self))
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

