import Foundation
import Neural
import Synchronization

/// A checkpoint folder (`checkpoints/last`, `checkpoints/best`) that survives a kill at any instruction.
///
/// A new checkpoint is written whole into `<path>.tmp`, flushed to disk, and marked finished by a `COMPLETE` file
/// written last; then the current folder is renamed to `<path>.old`, the new one to `<path>`, and the old one removed.
/// Whatever step a kill interrupts, one of the three names holds a complete checkpoint, and the newest complete one
/// is, in order: a finished `.tmp` (written after the others), `<path>`, then `.old`. `resolve` finds it without
/// changing anything (for `eval` and `watch`); `recover` renames it into place (for the process that owns the run).
enum CheckpointFolder {
    static let completeMarker = "COMPLETE"

    /// The steps of `write`, in order; a test hook can stop the writer right after any of them.
    enum Step: Int, CaseIterable {
        case removedStale, createdTemporary, wroteModel, wroteState, wroteConfig, markedComplete, movedCurrentAside,
             movedNewIntoPlace, removedOld
    }

    /// Test hook: checkpoint paths whose next `write` throws `SimulatedCrash` right after the given step, leaving the
    /// disk as a kill would.
    static let crashes = Mutex<[String: Step]>([:])
    struct SimulatedCrash: Error {}

    /// Writes a checkpoint folder (model, optional training state, config) at `path` as described above.
    /// The last config encoded, with what it was encoded for: a run writes the same one at every checkpoint, and
    /// encoding it costs more than a small model's tensors.
    private static let encoded = Mutex<(config: RunConfig, run: String, folder: String, json: Data)?>(nil)

    /// `config` as `config.json` stores it for run folder `run`.
    static func encodedConfig(_ config: RunConfig, inRun run: String) throws -> Data {
        let folder = FileManager.default.currentDirectoryPath
        if let last = encoded.withLock({ $0 }), last.config == config, last.run == run, last.folder == folder { return last.json }
        let json = try config.stored(in: run).encodedJSON()
        encoded.withLock { $0 = (config, run, folder, json) }
        return json
    }

    static func write(_ path: String, model: SafeTensors.File, state: SafeTensors.File?, config: RunConfig) throws {
        let manager = FileManager.default
        let temporary = path + ".tmp", old = path + ".old"
        let crashAfter = crashes.withLock { $0.removeValue(forKey: path) }
        func done(_ step: Step) throws { if crashAfter == step { throw SimulatedCrash() } }
        try recover(path)
        try? manager.removeItem(atPath: temporary)
        try done(.removedStale)
        try manager.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        try done(.createdTemporary)
        try SafeTensors.write(model, to: temporary + "/model.safetensors")
        try Durable.sync(temporary + "/model.safetensors")
        try done(.wroteModel)
        if let state {
            try SafeTensors.write(state, to: temporary + "/state.safetensors")
            try Durable.sync(temporary + "/state.safetensors")
        }
        try done(.wroteState)
        // The run's config, file options relative to the run directory (two folders up).
        let run = ((path as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        try Durable.write(try encodedConfig(config, inRun: run), to: temporary + "/config.json")
        try done(.wroteConfig)
        try Durable.write(Data("a complete Dojo checkpoint\n".utf8), to: temporary + "/" + completeMarker)
        try Durable.sync(temporary)
        try done(.markedComplete)
        if manager.fileExists(atPath: path) { try manager.moveItem(atPath: path, toPath: old) }
        try done(.movedCurrentAside)
        try manager.moveItem(atPath: temporary, toPath: path)
        try Durable.sync((path as NSString).deletingLastPathComponent)
        try done(.movedNewIntoPlace)
        try? manager.removeItem(atPath: old)
        try done(.removedOld)
    }

    /// The folder holding the newest complete checkpoint for `path`, or nil when there is none. Changes nothing.
    static func resolve(_ path: String) -> String? {
        let manager = FileManager.default
        let temporary = path + ".tmp", old = path + ".old"
        if manager.fileExists(atPath: temporary + "/" + completeMarker) { return temporary }
        // `path` and `.old` only ever receive folders that were complete when renamed.
        for candidate in [path, old] where manager.fileExists(atPath: candidate + "/model.safetensors") { return candidate }
        return nil
    }

    /// Moves the newest complete checkpoint to `path` and removes the leftovers of an interrupted write.
    static func recover(_ path: String) throws {
        let manager = FileManager.default
        let temporary = path + ".tmp", old = path + ".old"
        switch resolve(path) {
        case temporary?:
            if manager.fileExists(atPath: path) {
                try? manager.removeItem(atPath: old)
                try manager.moveItem(atPath: path, toPath: old)
            }
            try manager.moveItem(atPath: temporary, toPath: path)
        case old?:
            try? manager.removeItem(atPath: path)
            try manager.moveItem(atPath: old, toPath: path)
        case path?:
            break
        default:
            return  // nothing complete anywhere: leave every leftover as it is for the user to inspect
        }
        try? manager.removeItem(atPath: temporary)
        try? manager.removeItem(atPath: old)
    }
}

/// Writes that reach the disk before they are relied on (a power cut after a rename must not leave an empty file).
enum Durable {
    /// Writes `data` to `path` through a temporary file that is flushed and then renamed into place.
    static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw TrainingError.cannotWrite(path, error.localizedDescription)
        }
        try sync(path)
    }

    /// Flushes a file or folder to disk (`fsync`).
    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw TrainingError.cannotWrite(path, String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw TrainingError.cannotWrite(path, String(cString: strerror(errno))) }
    }
}
