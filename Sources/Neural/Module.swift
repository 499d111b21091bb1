/// Anything that owns parameters or persistent state: layers, LSTM, attention, containers.
///
/// Names follow PyTorch's `state_dict` so weights move between Dojo and PyTorch unchanged: a container prefixes
/// its children's names with their index or field name and a dot.
public protocol Module: AnyObject {
    /// Trainable parameters, with names prefixed by `prefix` (which is "" or ends with a dot).
    func namedParameters(prefix: String) -> [NamedParameter]
    /// Non-trainable persistent state (BatchNorm running statistics), with names.
    func namedBuffers(prefix: String) -> [NamedBuffer]
    /// Training mode (batch statistics, dropout on) or evaluation mode.
    var isTraining: Bool { get set }
}

extension Module {
    public func namedBuffers(prefix: String) -> [NamedBuffer] { [] }

    /// Every parameter and buffer, as `state_dict` would list them.
    public func stateEntries(prefix: String = "") -> [StateEntry] {
        namedParameters(prefix: prefix).map { StateEntry(name: $0.name, storage: .parameter($0.parameter)) }
            + namedBuffers(prefix: prefix).map { StateEntry(name: $0.name, storage: $0.storage) }
    }
}

/// A persistent non-trainable tensor or counter of a module (PyTorch "buffer").
public struct NamedBuffer {
    public let name: String
    public let storage: StateEntry.Storage
    public init(_ name: String, _ storage: StateEntry.Storage) { self.name = name; self.storage = storage }
}

/// One named entry of a module's state: where its data lives.
public struct StateEntry {
    public enum Storage {
        /// Float values of a parameter (or a buffer kept as a gradient-free parameter).
        case parameter(Parameter)
        /// An integer counter stored as a 0-d int64 tensor (`num_batches_tracked`).
        case counter(Counter)
    }
    public let name: String
    public let storage: Storage

    public init(name: String, storage: Storage) { self.name = name; self.storage = storage }
}

/// A mutable integer owned by a module and saved with its state.
public final class Counter {
    public var value: Int64
    public init(_ value: Int64 = 0) { self.value = value }
}

/// The row-wise layer contract: input (rows, inputFeatures) → output (rows, outputFeatures).
///
/// `forward` writes into a buffer the layer owns and returns it; the result stays valid until the next `forward`.
/// The layer keeps a pointer to `input`, which must stay valid until `backward`. `backward` takes dL/d(output) of
/// the last forward, accumulates parameter gradients (it never zeroes them) and returns dL/d(input) in a buffer the
/// layer owns. Buffers grow to the largest row count seen and are then reused: a steady-state step allocates nothing.
public protocol Layer: Module {
    var inputFeatures: Int { get }
    var outputFeatures: Int { get }
    func forward(_ input: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float>
    func backward(_ outputGradient: UnsafePointer<Float>) -> UnsafeMutablePointer<Float>
}

/// Convenience conformance for layers without parameters.
public protocol ParameterFreeLayer: Layer {}
extension ParameterFreeLayer {
    public func namedParameters(prefix: String) -> [NamedParameter] { [] }
}
