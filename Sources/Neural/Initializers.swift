import SeededRandom
#if canImport(Glibc)
import Glibc
#endif

/// Weight initialization schemes with PyTorch's definitions (`torch.nn.init`), drawn from the generator passed in.
///
/// Fans follow PyTorch: for a weight of shape (out, in, k...) `fanIn = in · k…` and `fanOut = out · k…`.
public enum Initializer: Sendable, Equatable {
    case zeros
    case constant(Float)
    /// U(low, high).
    case uniform(low: Float, high: Float)
    /// N(mean, std²).
    case normal(mean: Float, std: Float)
    /// U(−b, b), b = gain · √(6 / (fanIn + fanOut)).
    case xavierUniform(gain: Float = 1)
    /// N(0, σ²), σ = gain · √(2 / (fanIn + fanOut)).
    case xavierNormal(gain: Float = 1)
    /// U(−b, b), b = √3 · gain / √fan, gain from `nonlinearity` (and `a` for leaky ReLU).
    case kaimingUniform(a: Float = 0, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyReLU)
    /// N(0, σ²), σ = gain / √fan.
    case kaimingNormal(a: Float = 0, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyReLU)
    /// A (semi-)orthogonal matrix times `gain`, from the QR decomposition of a Gaussian matrix (Saxe et al.).
    case orthogonal(gain: Float = 1)

    public enum FanMode: Sendable { case fanIn, fanOut }
    public enum Nonlinearity: Sendable { case linear, sigmoid, tanh, relu, leakyReLU }

    /// PyTorch's `calculate_gain`.
    public static func gain(_ nonlinearity: Nonlinearity, a: Float = 0.01) -> Float {
        switch nonlinearity {
        case .linear, .sigmoid: return 1
        case .tanh: return 5.0 / 3.0
        case .relu: return Float(2).squareRoot()
        case .leakyReLU: return (2 / (1 + a * a)).squareRoot()
        }
    }

    /// (fanIn, fanOut) of a weight shape; needs at least two dimensions.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fan-based initialization needs a weight of 2+ dimensions, got shape \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// Overwrites `parameter` with values from this scheme.
    public func fill(_ parameter: Parameter, using rng: inout SeededGenerator) {
        fill(parameter.value, shape: parameter.shape, using: &rng)
    }

    public func fill(_ values: UnsafeMutablePointer<Float>, shape: [Int], using rng: inout SeededGenerator) {
        let count = shape.reduce(1, *)
        func uniform(_ bound: Float) { for i in 0..<count { values[i] = rng.nextFloat(in: -bound, bound) } }
        func normal(_ std: Float) { for i in 0..<count { values[i] = Float(rng.nextGaussian()) * std } }
        switch self {
        case .zeros: values.update(repeating: 0, count: count)
        case .constant(let c): values.update(repeating: c, count: count)
        case .uniform(let low, let high): for i in 0..<count { values[i] = rng.nextFloat(in: low, high) }
        case .normal(let mean, let std): for i in 0..<count { values[i] = mean + Float(rng.nextGaussian()) * std }
        case .xavierUniform(let gain):
            let (fanIn, fanOut) = Self.fans(shape)
            uniform(gain * (6 / Float(fanIn + fanOut)).squareRoot())
        case .xavierNormal(let gain):
            let (fanIn, fanOut) = Self.fans(shape)
            normal(gain * (2 / Float(fanIn + fanOut)).squareRoot())
        case .kaimingUniform(let a, let mode, let nonlinearity):
            let fan = mode == .fanIn ? Self.fans(shape).fanIn : Self.fans(shape).fanOut
            uniform(Float(3).squareRoot() * Self.gain(nonlinearity, a: a) / Float(fan).squareRoot())
        case .kaimingNormal(let a, let mode, let nonlinearity):
            let fan = mode == .fanIn ? Self.fans(shape).fanIn : Self.fans(shape).fanOut
            normal(Self.gain(nonlinearity, a: a) / Float(fan).squareRoot())
        case .orthogonal(let gain):
            precondition(shape.count >= 2, "orthogonal initialization needs 2+ dimensions, got shape \(shape)")
            Self.orthogonal(values, rows: shape[0], columns: count / max(shape[0], 1), gain: gain, using: &rng)
        }
    }

    /// Fills a rows × columns matrix with orthonormal rows (rows ≤ columns) or columns (rows > columns).
    static func orthogonal(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int, gain: Float,
                           using rng: inout SeededGenerator) {
        // Work on a tall matrix (m ≥ n): transpose when the weight is wide.
        let transposed = rows < columns
        let m = max(rows, columns), n = min(rows, columns)
        var a = [Double](repeating: 0, count: m * n)  // m × n, row-major
        for i in 0..<(m * n) { a[i] = rng.nextGaussian() }
        let q = householderQ(&a, m: m, n: n)  // m × n with orthonormal columns, sign-fixed so diag(R) > 0
        for i in 0..<rows {
            for j in 0..<columns {
                let v = transposed ? q[j * n + i] : q[i * n + j]
                values[i * columns + j] = gain * Float(v)
            }
        }
    }

    /// Thin QR of the m × n matrix `a` (m ≥ n) by Householder reflections; returns Q (m × n) with the signs of
    /// its columns chosen so that R has a positive diagonal, which makes the result uniformly distributed.
    static func householderQ(_ a: inout [Double], m: Int, n: Int) -> [Double] {
        var reflectors: [[Double]] = []
        var diagonalSigns: [Double] = []
        for k in 0..<n {
            var norm = 0.0
            for i in k..<m { norm += a[i * n + k] * a[i * n + k] }
            norm = norm.squareRoot()
            let alpha = a[k * n + k] > 0 ? -norm : norm  // R[k][k] = alpha
            var v = [Double](repeating: 0, count: m)
            for i in k..<m { v[i] = a[i * n + k] }
            v[k] -= alpha
            var vNorm = 0.0
            for i in k..<m { vNorm += v[i] * v[i] }
            if vNorm > 0 {
                for j in k..<n {
                    var dot = 0.0
                    for i in k..<m { dot += v[i] * a[i * n + j] }
                    let scale = 2 * dot / vNorm
                    for i in k..<m { a[i * n + j] -= scale * v[i] }
                }
            }
            reflectors.append(vNorm > 0 ? v.map { $0 / vNorm.squareRoot() } : v)
            diagonalSigns.append(alpha >= 0 ? 1 : -1)
        }
        // Q = H_0 H_1 … H_{n-1} applied to the first n columns of the identity.
        var q = [Double](repeating: 0, count: m * n)
        for j in 0..<n { q[j * n + j] = 1 }
        for k in stride(from: n - 1, through: 0, by: -1) {
            let v = reflectors[k]
            for j in 0..<n {
                var dot = 0.0
                for i in k..<m { dot += v[i] * q[i * n + j] }
                for i in k..<m { q[i * n + j] -= 2 * dot * v[i] }
            }
        }
        for j in 0..<n where diagonalSigns[j] < 0 { for i in 0..<m { q[i * n + j] = -q[i * n + j] } }
        return q
    }
}
