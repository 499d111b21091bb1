import Neural
import Sim

/// Observation normalization in checkpoints, shared by the trainers that normalize (PPO/A2C, SAC/TD3): the model file
/// keeps the statistics as plain float32 `obs_rms.*` tensors (what evaluation and PyTorch users normalize with), the
/// training state their exact float64 values (what `--resume` continues from). The arithmetic is
/// `RunningStatistics.normalize` (VecNormalize's observation part).
enum ObservationNormalizer {
    /// Appends `obs_rms.mean` (obs), `obs_rms.var` (obs) and `obs_rms.count` (1) as float32 tensors.
    static func append(_ statistics: RunningStatistics, to model: inout SafeTensors.File) {
        let size = statistics.mean.count
        model.append("obs_rms.mean", .float32(Tensor(shape: [size], scalars: statistics.mean.map(Float.init))))
        model.append("obs_rms.var", .float32(Tensor(shape: [size], scalars: statistics.variance.map(Float.init))))
        model.append("obs_rms.count", .float32(Tensor(shape: [1], scalars: [Float(statistics.count)])))
    }

    /// `statistics` as a model file keeps them: each value rounded to float32.
    static func asSaved(_ statistics: RunningStatistics) -> RunningStatistics {
        RunningStatistics(mean: statistics.mean.map { Double(Float($0)) }, variance: statistics.variance.map { Double(Float($0)) },
                          count: Double(Float(statistics.count)))
    }

    /// The observation statistics saved in a model file (float32 `obs_rms.mean`, `obs_rms.var`, `obs_rms.count`), for
    /// observations of `size` values: what evaluation and PyTorch users normalize with.
    static func statistics(in model: SafeTensors.File, path: String, size: Int) throws -> RunningStatistics {
        let mean = try model.float32("obs_rms.mean", path: path, count: size).scalars
        let variance = try model.float32("obs_rms.var", path: path, count: size).scalars
        let count = try model.float32("obs_rms.count", path: path, count: 1).scalars
        guard (mean + variance + count).allSatisfy(\.isFinite), (variance + count).allSatisfy({ $0 >= 0 }) else {
            throw TrainingError.corruptCheckpoint("\(path): obs_rms.mean, obs_rms.var and obs_rms.count must be finite, "
                                                  + "the variances and the count ≥ 0")
        }
        return RunningStatistics(mean: mean.map(Double.init), variance: variance.map(Double.init), count: Double(count[0]))
    }

    /// The exact (float64) observation statistics of a training state, which `--resume` continues from.
    static func exactStatistics(in state: SafeTensors.File, path: String, size: Int) throws -> RunningStatistics {
        let bits = try Checkpoint.words("obs_rms", in: state, path: path).map(Double.init(bitPattern:))
        guard bits.count == 2 * size + 1, bits.allSatisfy(\.isFinite), bits[size...].allSatisfy({ $0 >= 0 }) else {
            throw TrainingError.corruptCheckpoint("\(path): obs_rms must hold \(2 * size + 1) finite values "
                                                  + "(\(size) means, \(size) variances ≥ 0, the count)")
        }
        return RunningStatistics(mean: Array(bits[0..<size]), variance: Array(bits[size..<(2 * size)]), count: bits[2 * size])
    }
}
