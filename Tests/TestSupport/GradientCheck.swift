import SeededRandom
import Neural

/// A value whose analytic gradient is checked: `count` floats at `values`, gradient at `gradient`.
public struct CheckedValue {
    public let label: String
    public let values: UnsafeMutablePointer<Float>
    public let gradient: UnsafePointer<Float>
    public let count: Int

    public init(_ label: String, values: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int) {
        self.label = label
        self.values = values
        self.gradient = gradient
        self.count = count
    }

    public init(_ label: String, _ parameter: Parameter) {
        self.init(label, values: parameter.value, gradient: parameter.grad, count: parameter.count)
    }
}

/// Finite-difference gradient checks: each analytic gradient is compared with the central difference
/// (L(x + ε) − L(x − ε)) / 2ε of the scalar loss, coordinate by coordinate.
public enum GradientCheck {
    /// Returns one message per mismatching coordinate (empty when all agree). Call after the analytic backward
    /// pass; `loss` must rerun the forward pass from the current values and return the scalar loss (accumulate it
    /// in Double). At most `maxCoordinates` evenly spaced coordinates of each value are checked.
    public static func check(_ checked: [CheckedValue], epsilon: Float = 1e-2, relativeTolerance: Double = 2e-2,
                             absoluteTolerance: Double = 2e-3, maxCoordinates: Int = 48,
                             loss: () -> Double) -> [String] {
        // Copy the analytic gradients first: rerunning forward may reuse buffers.
        let analytic = checked.map { Array(UnsafeBufferPointer(start: $0.gradient, count: $0.count)) }
        var failures: [String] = []
        for (value, gradient) in zip(checked, analytic) {
            let stride = max(1, value.count / maxCoordinates)
            for i in Swift.stride(from: 0, to: value.count, by: stride) {
                let original = value.values[i]
                value.values[i] = original + epsilon
                let plus = loss()
                value.values[i] = original - epsilon
                let minus = loss()
                value.values[i] = original
                let numeric = (plus - minus) / (2 * Double(epsilon))
                let a = Double(gradient[i])
                if abs(a - numeric) > absoluteTolerance + relativeTolerance * max(abs(a), abs(numeric)) {
                    failures.append("\(value.label)[\(i)]: analytic \(a), numeric \(numeric)")
                }
            }
        }
        _ = loss()  // leave the forward caches as they were
        return failures
    }

    /// Σ output[i] · weights[i] in Double: the scalar loss whose gradient with respect to `output` is `weights`.
    public static func weightedSum(_ output: UnsafePointer<Float>, _ weights: [Float]) -> Double {
        var sum = 0.0
        for (i, w) in weights.enumerated() { sum += Double(output[i]) * Double(w) }
        return sum
    }
}

extension GradientCheck {
    /// Checks a row-wise layer's input and parameter gradients on random data, with the loss Σ y ⊙ R for a random R.
    /// `prepare` runs before every forward (e.g. to reset a dropout generator). Inputs are kept at least
    /// `marginFromZero` away from zero so kinks (ReLU) are not straddled by the finite difference.
    public static func checkLayer(_ layer: some Layer, rows: Int, seed: UInt64 = 7, marginFromZero: Float = 0,
                                  prepare: () -> Void = {}) -> [String] {
        var rng = SeededGenerator(seed: seed)
        var input = randomArray(rows * layer.inputFeatures, &rng).map { $0 + ($0 >= 0 ? marginFromZero : -marginFromZero) }
        let weights = randomArray(rows * layer.outputFeatures, &rng)
        return input.withUnsafeMutableBufferPointer { x in
            for entry in layer.namedParameters(prefix: "") { entry.parameter.zeroGrad() }
            prepare()
            _ = layer.forward(x.baseAddress!, rows: rows)
            let dx = layer.backward(weights)
            var checked = [CheckedValue("input", values: x.baseAddress!, gradient: dx, count: x.count)]
            checked += layer.namedParameters(prefix: "").map { CheckedValue($0.name, $0.parameter) }
            return check(checked) {
                prepare()
                return weightedSum(layer.forward(x.baseAddress!, rows: rows), weights)
            }
        }
    }
}
