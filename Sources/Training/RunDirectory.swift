import Foundation
import Environments
import Sim

/// A run directory owned by this process for its whole life.
///
/// A new run is only started in a folder that does not exist or is empty: an existing run, or a folder holding
/// anything else, is never written into. Resuming requires a run. Either way an advisory lock (`flock` on
/// `.dojo.lock`, which names the holder) is taken before anything is written and held until the process ends or the
/// object is released, so a second `dojo train` (same `--out`, or a `--resume` while training) is refused instead of
/// mixing its files with the first one's.
public final class RunDirectory {
    public let path: String
    private let lockDescriptor: Int32
    static let lockName = ".dojo.lock"

    public enum Mode { case create, resume }

    public init(_ path: String, mode: Mode) throws {
        self.path = path
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        let exists = manager.fileExists(atPath: path, isDirectory: &isFolder)
        if exists && !isFolder.boolValue { throw RunDirectoryError.notAFolder(path) }
        if exists, let holder = Self.currentHolder(path) { throw RunDirectoryError.inUse(path, holder: holder) }
        switch mode {
        case .create:
            if exists { try Self.checkEmpty(path) }
            do { try manager.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw TrainingError.cannotWrite(path, error.localizedDescription)
            }
        case .resume:
            guard exists, manager.fileExists(atPath: path + "/config.json") else { throw TrainingError.notARun(path) }
        }
        let lockPath = path + "/" + Self.lockName
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TrainingError.cannotWrite(lockPath, String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw RunDirectoryError.inUse(path, holder: Self.holderText(lockPath))
        }
        lockDescriptor = descriptor
        // Another process may have started a run here between the check above and the lock.
        if mode == .create { try Self.checkEmpty(path) }
        let holder = "process \(getpid()) (\(CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))), "
            + "since \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(descriptor, 0)
        _ = holder.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    deinit {
        _ = ftruncate(lockDescriptor, 0)
        close(lockDescriptor)  // releases the lock
    }

    /// Who holds the lock of the run at `path` ("" when unnamed), or nil when nobody does. Creates nothing.
    private static func currentHolder(_ path: String) -> String? {
        let lockPath = path + "/" + lockName
        let descriptor = open(lockPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 { flock(descriptor, LOCK_UN); return nil }
        return holderText(lockPath) ?? ""
    }

    private static func holderText(_ lockPath: String) -> String? {
        let text = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.flatMap { $0.isEmpty ? nil : quotedForMessage($0, limit: 200) }
    }

    /// Throws unless `path` holds nothing but (possibly) a lock file.
    private static func checkEmpty(_ path: String) throws {
        let contents = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != lockName }
        guard contents.isEmpty else {
            if contents.contains("config.json") && (contents.contains("checkpoints") || contents.contains("metrics.csv")) {
                throw RunDirectoryError.existingRun(path)
            }
            throw RunDirectoryError.notEmpty(path, contents: contents.sorted())
        }
    }
}

public enum RunDirectoryError: Error, CustomStringConvertible, Equatable {
    case existingRun(String)
    case notEmpty(String, contents: [String])
    case notAFolder(String)
    case inUse(String, holder: String?)

    public var description: String {
        switch self {
        case .existingRun(let path):
            return "\(path) already holds a run; nothing was written. Continue it with `dojo train --resume \(path)`, "
                + "or pass a new folder with --out"
        case .notEmpty(let path, let contents):
            let listed = contents.prefix(5).map { "\"" + quotedForMessage($0) + "\"" }.joined(separator: ", ") + (contents.count > 5 ? ", …" : "")
            return "\(path) is not empty (\(listed)); Dojo writes a run only into a new or empty folder. Pass another --out"
        case .notAFolder(let path):
            return "\(path) is a file, not a folder; pass a folder name with --out"
        case .inUse(let path, let holder):
            return "\(path) is in use by another Dojo process" + (holder.map { $0.isEmpty ? "" : " (\($0))" } ?? "")
                + "; wait for it to finish or stop it, then try again"
        }
    }
}

/// Files a run depends on (a gridworld map named by path) live in the run directory, so the run evaluates, resumes
/// and plays from any working folder and never picks up a later edit of the original.
extension RunConfig {
    /// The folder inside a run directory that holds copies of the files its options name.
    static let filesFolder = "files"

    private var optionSpecs: [OptionSpec] { (try? EnvironmentRegistry.entry(env).optionSpecs) ?? [] }

    /// Copies every file an option names into `directory/files/` and returns the config using the copies.
    func adoptingFiles(into directory: String) throws -> RunConfig {
        var adopted = self
        for spec in optionSpecs {
            guard let value = envOptions[spec.name], spec.namesFile(value) else { continue }
            let folder = directory + "/" + Self.filesFolder, copy = folder + "/" + (value as NSString).lastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                guard !FileManager.default.fileExists(atPath: copy) else {
                    throw TrainingError.invalidConfig(["two options name files called \(quotedForMessage((value as NSString).lastPathComponent)); rename one"])
                }
                try FileManager.default.copyItem(atPath: value, toPath: copy)
            } catch let error as TrainingError {
                throw error
            } catch {
                throw TrainingError.cannotWrite(copy, error.localizedDescription)
            }
            adopted.envOptions[spec.name] = copy
        }
        return adopted
    }

    /// The config as `config.json` stores it: file options relative to the run directory.
    func stored(in directory: String) -> RunConfig {
        var stored = self
        stored.envOptions = OptionPaths.relative(envOptions, specs: optionSpecs,
                                                 workingFolder: FileManager.default.currentDirectoryPath, to: directory)
        return stored
    }

    /// The config with the file options of a `config.json` taken in its run directory.
    func resolvingFiles(in directory: String) -> RunConfig {
        var resolved = self
        resolved.envOptions = OptionPaths.resolving(envOptions, specs: optionSpecs, in: directory)
        return resolved
    }

    /// Writes `config.json` into run `directory`, durably.
    func writeJSON(inRun directory: String, to path: String) throws {
        try Durable.write(stored(in: directory).encodedJSON(), to: path)
    }
}
