import Dispatch

/// A vector environment stepped with random actions drawn in advance: the workload of `dojo bench envs`. Generic
/// over the concrete environment type, so a stepper made where the type is known (the registry entry that builds it)
/// runs a loop with no existential call per step.
public final class RandomStepper<E: Environment> {
    public let vector: VectorEnvironment<E>
    private let actions: [Float]
    /// Rows of actions drawn in advance (cycled).
    private static var batches: Int { 256 }

    public init(copies: Int, threads: Int, make: (Int) throws -> E) throws {
        let vector = try VectorEnvironment(count: copies, threads: threads, make: make)
        vector.reset(seed: 1)
        let batches = Self.batches, width = vector.actionWidth
        var actions = [Float](repeating: 0, count: batches * copies * width)
        var rng = SeededGenerator(seed: 2)
        let space = vector.environments[0].actionSpace
        actions.withUnsafeMutableBufferPointer { buffer in
            for row in 0..<(batches * copies) { space.sample(into: buffer.baseAddress! + row * width, using: &rng) }
        }
        self.vector = vector
        self.actions = actions
    }

    /// Steps for about `seconds` (at least 64 steps) and returns environment steps per second.
    public func rate(seconds: Double) -> Double {
        actions.withUnsafeBufferPointer { buffer -> Double in
            let base = buffer.baseAddress!, stride = vector.count * vector.actionWidth, batches = Self.batches
            var iterations = 64
            while true {
                let start = DispatchTime.now().uptimeNanoseconds
                for i in 0..<iterations { vector.step(base + (i % batches) * stride) }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if elapsed >= seconds || iterations >= 1 << 30 { return Double(iterations * vector.count) / elapsed }
                iterations = elapsed < seconds / 20 ? iterations * 8 : Int(Double(iterations) * seconds / elapsed * 1.1)
            }
        }
    }
}
