import Foundation
import Yams
import Sim

/// A value read from a config file, `config.json` or a `--set` flag, before it is checked against what the key takes.
/// Read from YAML through its resolved tags and from JSON through `Decodable`, so a number, a boolean and a string never
/// pass for one another (Foundation's JSON objects would bridge `true` and `1` to the same `NSNumber`).
public indirect enum ConfigValue: Equatable, Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([ConfigValue])
    case mapping([String: ConfigValue])

    /// Converts a value Yams built (`Node.any`): Int, Double, Bool, String, NSNull, arrays and string-keyed mappings.
    init(yaml value: Any?) {
        switch value {
        case nil, is NSNull: self = .null
        case let v as Bool: self = .bool(v)
        case let v as Int: self = .int(v)
        case let v as Double: self = .double(v)
        case let v as String: self = .string(v)
        case let v as [Any]: self = .list(v.map { ConfigValue(yaml: $0) })
        case let v as [String: Any]: self = .mapping(v.mapValues { ConfigValue(yaml: $0) })
        case let v as [AnyHashable: Any]:
            self = .mapping(Dictionary(v.map { ("\($0.key)", ConfigValue(yaml: $0.value)) }) { first, _ in first })
        default: self = .string("\(value.map { "\($0)" } ?? "")")
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int.self) { self = .int(v) }
        else if let v = try? c.decode(Double.self) { self = .double(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else if let v = try? c.decode([ConfigValue].self) { self = .list(v) }
        else { self = .mapping(try c.decode([String: ConfigValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let v): try c.encode(v)
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .list(let v): try c.encode(v)
        case .mapping(let v): try c.encode(v)
        }
    }

    /// The value as a user wrote it, for messages.
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let v): return "\(v)"
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .string(let v): return "'\(quotedForMessage(v))'"
        case .list(let v): return "[" + v.map(\.description).joined(separator: ", ") + "]"
        case .mapping(let v): return "{" + v.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// A whole number (an integral double such as JSON's `1e5` included).
    var integer: Int? {
        switch self {
        case .int(let v): return v
        case .double(let v) where v.rounded() == v && abs(v) < 9.0e18: return Int(v)
        default: return nil
        }
    }

    var number: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }

    /// The text of a scalar (environment options take every scalar as text).
    var scalarText: String? {
        switch self {
        case .bool(let v): return "\(v)"
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .string(let v): return v
        default: return nil
        }
    }
}

/// Key names for "did you mean" suggestions.
enum Suggestion {
    /// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo.
    static func closest(to name: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(name.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }) else { return nil }
        return best.1 <= max(2, name.count / 3) ? best.0 : nil
    }

    /// " (did you mean x?)" or "".
    static func hint(for name: String, in candidates: [String]) -> String {
        closest(to: name, in: candidates).map { " (did you mean \($0)?)" } ?? ""
    }

    /// Levenshtein distance between two short strings.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
