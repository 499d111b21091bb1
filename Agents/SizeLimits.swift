import Foundation

/// Upper bounds on every size a config can ask for, checked before anything is allocated or multiplied: a typo such as
/// `buffer_size=1000000000000` or `net_arch=[100000000]` must give a message, not a 32 TB allocation or an overflow
/// trap. The bounds sit far above any run this project trains; memory is then checked against the machine
/// (`RunConfig.problems`).
public enum SizeLimits {
    public static let layerWidth = 16_384
    public static let layers = 16
    /// LSTM width, attention embedding.
    public static let recurrentWidth = 4_096
    public static let attentionHeads = 64
    public static let bufferSize = 100_000_000
    public static let batchSize = 1_000_000
    /// Rollout length (PPO/A2C `n_steps`), recurrent DQN windows, n-step returns.
    public static let sequenceLength = 1_000_000
    /// Epochs, gradient steps and other per-update repeat counts.
    public static let repeats = 100_000
    /// Step intervals (train_freq, target_update_interval, learning_starts).
    public static let interval = 1_000_000_000_000

    /// One problem per size outside `1...limit` (or `0...limit` where zero is allowed), named as the user wrote it.
    static func check(_ sizes: [(name: String, value: Int, minimum: Int, maximum: Int)]) -> [String] {
        sizes.compactMap { size in
            (size.minimum...size.maximum).contains(size.value) ? nil
                : "\(size.name) must be in \(size.minimum)...\(size.maximum) (got \(size.value))"
        }
    }

    static func checkNetArch(_ netArch: [Int]) -> [String] {
        guard netArch.count <= layers else { return ["net_arch has \(netArch.count) layers; at most \(layers)"] }
        guard let bad = netArch.first(where: { !(1...layerWidth).contains($0) }) else { return [] }
        return ["net_arch sizes must be in 1...\(layerWidth) (got \(bad))"]
    }

    /// Bytes of memory a buffer of `count` rows of `width` values of `bytesPerValue` takes, or nil on overflow.
    public static func bytes(rows count: Int, width: Int, bytesPerValue: Int) -> Int? {
        let (a, o1) = count.multipliedReportingOverflow(by: width)
        let (b, o2) = a.multipliedReportingOverflow(by: bytesPerValue)
        return o1 || o2 ? nil : b
    }

    /// "12.3 GB" for messages.
    public static func describe(bytes: Int) -> String {
        let gigabytes = Double(bytes) / 1e9
        return gigabytes >= 1 ? String(format: "%.1f GB", gigabytes) : String(format: "%.0f MB", Double(bytes) / 1e6)
    }

    /// A problem when a buffer of `bytes` would not fit in 80% of this machine's physical memory.
    public static func memoryProblem(_ what: String, bytes: Int?) -> String? {
        let available = Int(min(ProcessInfo.processInfo.physicalMemory / 10 * 8, UInt64(Int.max)))
        guard let bytes else { return "\(what) would need more memory than can be counted; make it smaller" }
        guard bytes > available else { return nil }
        return "\(what) would need \(describe(bytes: bytes)), more than 80% of this machine's \(describe(bytes: Int(ProcessInfo.processInfo.physicalMemory))); make it smaller"
    }
}
