/// Environment options (`--option key=value` on the command line; Gymnasium's make-kwargs and reset options in
/// one place). Each environment declares its options; given values are checked against the declaration before the
/// environment is built, and every error lists what would have been valid.
public struct OptionSpec: Sendable {
    public enum Kind: Sendable, Equatable {
        case integer(ClosedRange<Int>)
        case real(ClosedRange<Double>)
        case boolean
        case choice([String])
        /// A path to a file (checked when the environment reads it).
        case path
        /// `count` comma-separated reals, e.g. a state `x,xdot,theta,thetadot`.
        case reals(count: Int)
        /// One or more comma-separated reals (the environment checks how many it needs).
        case realList
    }

    public let name: String
    public let kind: Kind
    /// The default as it would be typed; "" means unset (the option has no default value).
    public let defaultValue: String
    public let summary: String
    /// For a `.path` option: values that name something built in rather than a file (e.g. gridworld's map names).
    public let builtInNames: [String]

    public init(_ name: String, _ kind: Kind, default defaultValue: String, _ summary: String, builtIn builtInNames: [String] = []) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
        self.builtInNames = builtInNames
    }

    /// Whether `value` of this option names a file (a `.path` option's value that is not a built-in name).
    public func namesFile(_ value: String) -> Bool { kind == .path && !builtInNames.contains(value) }

    /// What a user may type, for help and error messages.
    public var accepted: String {
        switch kind {
        case .integer(let range): return "an integer in \(range.lowerBound)...\(range.upperBound)"
        case .real(let range): return "a number in \(range.lowerBound)...\(range.upperBound)"
        case .boolean: return "true or false"
        case .choice(let choices): return "one of \(choices.joined(separator: ", "))"
        case .path: return "a file path"
        case .reals(let count): return "\(count) comma-separated numbers"
        case .realList: return "comma-separated numbers"
        }
    }

    /// nil when `value` is acceptable, else why not.
    func problem(with value: String) -> String? {
        switch kind {
        case .integer(let range):
            guard let v = Int(value), range.contains(v) else { return "expected \(accepted)" }
        case .real(let range):
            guard let v = Double(value), v.isFinite, range.contains(v) else { return "expected \(accepted)" }
        case .boolean:
            guard ["true", "false", "1", "0", "yes", "no"].contains(value.lowercased()) else { return "expected \(accepted)" }
        case .choice(let choices):
            guard choices.contains(value) else { return "expected \(accepted)" }
        case .path:
            guard !value.isEmpty else { return "expected \(accepted)" }
        case .reals, .realList:
            let parts = value.split(separator: ",", omittingEmptySubsequences: false)
            let countFits: Bool
            if case .reals(let count) = kind { countFits = parts.count == count } else { countFits = !parts.isEmpty }
            // Within float range too: states are observed as floats, and an infinite observation breaks every consumer.
            let limit = Double(Float.greatestFiniteMagnitude)
            guard countFits, parts.allSatisfy({ Double($0.trimmingCharacters(in: .whitespaces)).map { abs($0) <= limit } ?? false })
            else { return "expected \(accepted), each finite and within ±3.4e38" }
        }
        return nil
    }
}

/// Options after checking: every declared option, given or defaulted. Sorted keys make it a stable config to
/// store in replays and run directories.
public struct ResolvedOptions: Sendable, Equatable {
    public private(set) var values: [String: String]

    /// Checks `given` against `specs`: unknown names and bad values throw ``OptionError`` listing what is valid.
    public init(_ given: [String: String], specs: [OptionSpec], environment: String) throws {
        var values: [String: String] = [:]
        for spec in specs where !spec.defaultValue.isEmpty { values[spec.name] = spec.defaultValue }
        for name in given.keys.sorted() {
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw OptionError.unknownOption(environment: environment, name: name, valid: specs.map(\.name))
            }
            let value = given[name]!
            if let problem = spec.problem(with: value) {
                throw OptionError.invalidValue(environment: environment, name: name, value: value, problem: problem)
            }
            values[name] = value
        }
        self.values = values
    }

    public func string(_ name: String) -> String? { values[name] }
    public func int(_ name: String) -> Int { Int(values[name]!)! }
    public func double(_ name: String) -> Double { Double(values[name]!)! }
    public func bool(_ name: String) -> Bool { ["true", "1", "yes"].contains(values[name]!.lowercased()) }
    /// The comma-separated reals of option `name`, or nil when it is unset.
    public func reals(_ name: String) -> [Double]? {
        values[name].map { $0.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces))! } }
    }
}

/// Parses `key=value` arguments (as `--option` takes them) into a dictionary.
public func parseOptionAssignments(_ assignments: [String]) throws -> [String: String] {
    var result: [String: String] = [:]
    for assignment in assignments {
        guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
            throw OptionError.malformed(assignment)
        }
        result[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
    }
    return result
}

public enum OptionError: Error, CustomStringConvertible, Equatable {
    case malformed(String)
    case unknownOption(environment: String, name: String, valid: [String])
    case invalidValue(environment: String, name: String, value: String, problem: String)
    case unknownEnvironment(name: String, valid: [String])

    public var description: String {
        switch self {
        case .malformed(let text):
            return "option '\(quotedForMessage(text))' is not of the form key=value (example: --option view=7)"
        case .unknownOption(let environment, let name, let valid):
            return "\(environment) has no option '\(quotedForMessage(name))'; its options are: \(valid.joined(separator: ", ")) (see `dojo envs`)"
        case .invalidValue(let environment, let name, let value, let problem):
            return "\(environment) option \(quotedForMessage(name))=\(quotedForMessage(value)): \(problem)"
        case .unknownEnvironment(let name, let valid):
            return "unknown environment '\(quotedForMessage(name))'; available: \(valid.joined(separator: ", ")) (see `dojo envs`)"
        }
    }
}

/// File paths in options, moved between folders: a replay stores its path options relative to its own folder, so it
/// plays the same from any working folder and can be moved together with its map files.
public enum OptionPaths {
    /// `options` with every relative file path (see ``OptionSpec/namesFile(_:)``) taken as relative to `folder`.
    public static func resolving(_ options: [String: String], specs: [OptionSpec], in folder: String) -> [String: String] {
        var result = options
        for spec in specs {
            guard let value = options[spec.name], spec.namesFile(value), !value.hasPrefix("/") else { continue }
            result[spec.name] = folder.hasSuffix("/") ? folder + value : folder + "/" + value
        }
        return result
    }

    /// `options` with every file path (relative to `workingFolder`, or absolute) rewritten relative to `folder`.
    public static func relative(_ options: [String: String], specs: [OptionSpec], workingFolder: String, to folder: String) -> [String: String] {
        var result = options
        for spec in specs {
            guard let value = options[spec.name], spec.namesFile(value) else { continue }
            let file = components(value.hasPrefix("/") ? value : workingFolder + "/" + value)
            let base = components(folder.hasPrefix("/") ? folder : workingFolder + "/" + folder)
            let shared = zip(file, base).prefix { $0 == $1 }.count
            result[spec.name] = (Array(repeating: "..", count: base.count - shared) + file[shared...]).joined(separator: "/")
        }
        return result
    }

    /// The components of an absolute path with `.` and `..` applied.
    static func components(_ path: String) -> [String] {
        var parts: [String] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { if !parts.isEmpty { parts.removeLast() } } else { parts.append(String(part)) }
        }
        return parts
    }
}
