import Neural
import Sim

/// Rows of observations in memory allocated once, the storage the replay buffers share: one bit per value for
/// observations an environment declares binary (one-hot grids: exact, 32 times smaller than float32), one byte per
/// value for cell codes (``CellCodes``: every value 0...31), float32 otherwise. The storage follows the declared
/// ``ObservationKind``, never the space's bounds, so features that merely lie in [0, 1] are kept as they are.
///
/// In checkpoints, bit rows are one zlib stream (level 1: planes of one-hot grids are mostly zero and shrink many
/// times over) named `NAME_bits_zlib`, byte rows likewise `NAME_bytes_zlib`; float rows are the F32 tensor `NAME`,
/// uncompressed (real values barely shrink and compressing them would slow every checkpoint).
public final class ObservationRows {
    public let rows: Int
    public let width: Int
    public let kind: ObservationKind
    /// Bytes per row: packed bits, value i of a row being bit i % 8 of byte i / 8 (binary rows), or one byte per value
    /// (cell codes).
    public let bytesPerRow: Int
    /// Whether each value takes a byte (cell codes) rather than a bit.
    public let storesBytes: Bool
    private let bytes: UnsafeMutablePointer<UInt8>?
    private let floats: UnsafeMutablePointer<Float>?

    public init(rows: Int, width: Int, kind: ObservationKind) {
        self.rows = rows
        self.width = width
        self.kind = kind
        storesBytes = kind.cellCodes != nil
        bytesPerRow = storesBytes ? width : (width + 7) / 8
        if kind != .continuous {
            let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: rows * bytesPerRow)
            storage.initialize(repeating: 0, count: rows * bytesPerRow)
            bytes = storage
            floats = nil
        } else {
            let storage = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
            storage.initialize(repeating: 0, count: rows * width)
            floats = storage
            bytes = nil
        }
    }

    deinit { bytes?.deallocate(); floats?.deallocate() }

    /// Whether values are kept as bits.
    public var storesBits: Bool { bytes != nil && !storesBytes }

    /// Memory the rows take (bytes).
    public var byteCount: Int { bytes != nil ? rows * bytesPerRow : rows * width * MemoryLayout<Float>.size }

    /// Stores `values` (width floats) in `row`; a binary row keeps whether each value is nonzero.
    @inline(__always)
    public func write(_ values: UnsafePointer<Float>, row: Int) {
        if storesBytes, let bytes {
            let destination = bytes + row * width
            for i in 0..<width { destination[i] = values[i] >= 0 && values[i] <= 255 ? UInt8(values[i]) : 0 }
        } else if let bits = bytes {
            let destination = bits + row * bytesPerRow
            for byte in 0..<bytesPerRow {
                let first = byte * 8, last = min(first + 8, width)
                var packed: UInt8 = 0
                for i in first..<last where values[i] != 0 { packed |= 1 << UInt8(i - first) }
                destination[byte] = packed
            }
        } else if let floats {
            (floats + row * width).update(from: values, count: width)
        }
    }

    /// Copies `row` into `destination` (width floats).
    @inline(__always)
    public func read(row: Int, into destination: UnsafeMutablePointer<Float>) {
        if storesBytes, let bytes {
            let source = bytes + row * width
            for i in 0..<width { destination[i] = Float(source[i]) }
        } else if let bits = bytes {
            let source = bits + row * bytesPerRow, wholeBytes = width / 8
            Self.unpackedBytes.withUnsafeBufferPointer { table in
                for byte in 0..<wholeBytes { (destination + 8 * byte).update(from: table.baseAddress! + 8 * Int(source[byte]), count: 8) }
            }
            for i in (8 * wholeBytes)..<width { destination[i] = Float((source[i >> 3] >> UInt8(i & 7)) & 1) }
        } else if let floats {
            destination.update(from: floats + row * width, count: width)
        }
    }

    /// The 8 floats (0 or 1) each byte value unpacks to, bit 0 first: reading a row copies 8 values per byte.
    private static let unpackedBytes: [Float] = (0..<256).flatMap { byte in (0..<8).map { Float((byte >> $0) & 1) } }

    /// Adds the first `count` rows to a checkpoint under `name` (see the type's note for the two forms).
    public func save(rows count: Int, as name: String, into file: inout SafeTensors.File) {
        if let bytes {
            let stream = Zlib.compress(UnsafeRawBufferPointer(start: bytes, count: count * bytesPerRow), level: 1)
            file.append(name + (storesBytes ? "_bytes_zlib" : "_bits_zlib"), .uint8(shape: [stream.count], values: stream))
        } else if let floats {
            file.append(name, .float32(Tensor(shape: [count * width], copying: floats)))
        }
    }

    /// Rows read back from a checkpoint, checked, not yet copied in.
    public struct Saved {
        fileprivate let bytes: [UInt8]?
        fileprivate let floats: Tensor?
    }

    /// The first `count` rows `save` wrote under `name`, after checking their form and size: a stream that does not
    /// decode to exactly `count` rows, or rows of the other kind, throws naming the tensor. Binary rows also load from
    /// the one-byte-per-value U8 tensor `name` of earlier checkpoints.
    public func saved(rows count: Int, as name: String, in file: SafeTensors.File, path: String) throws -> Saved {
        if storesBytes {
            guard case .uint8(_, let stream)? = file.tensors[name + "_bytes_zlib"],
                  let values = Zlib.decompress(stream, expectedCount: count * width) else {
                throw SafeTensorsError.inconsistent(path: path, tensor: name + "_bytes_zlib", detail:
                    "is missing or is not a zlib stream of \(count) rows of \(width) cell codes; the file was altered or cut: "
                    + "resume from another checkpoint")
            }
            guard values.allSatisfy({ $0 <= UInt8(CellCodes.maximumCode) }) else {
                throw SafeTensorsError.inconsistent(path: path, tensor: name + "_bytes_zlib", detail:
                    "holds a value above \(CellCodes.maximumCode), the largest cell code; the file was altered: resume from another checkpoint")
            }
            return Saved(bytes: values, floats: nil)
        }
        if storesBits {
            if case .uint8(_, let stream)? = file.tensors[name + "_bits_zlib"] {
                guard let packed = Zlib.decompress(stream, expectedCount: count * bytesPerRow) else {
                    throw SafeTensorsError.inconsistent(path: path, tensor: name + "_bits_zlib", detail:
                        "is not a zlib stream of \(count) rows of \(bytesPerRow) bytes (\(width) bits each); the file was "
                        + "altered or cut: resume from another checkpoint")
                }
                return Saved(bytes: packed, floats: nil)
            }
            if case .uint8(_, let values)? = file.tensors[name], values.count == count * width, values.allSatisfy({ $0 <= 1 }) {
                return Saved(bytes: pack(bytes: values, rows: count), floats: nil)
            }
            throw SafeTensorsError.inconsistent(path: path, tensor: name + "_bits_zlib", detail:
                "is missing or malformed: expected \(count) binary observation rows of \(width) values")
        }
        guard case .float32(let tensor)? = file.tensors[name], tensor.count == count * width else {
            throw SafeTensorsError.inconsistent(path: path, tensor: name, detail:
                "is missing or malformed: expected \(count * width) F32 values (\(count) rows of \(width))")
        }
        return Saved(bytes: nil, floats: tensor)
    }

    /// Copies rows that ``saved(rows:as:in:path:)`` returned into the first rows.
    public func restore(_ saved: Saved) {
        if let bytes, let stored = saved.bytes { bytes.update(from: stored, count: min(stored.count, rows * bytesPerRow)) }
        if let floats, let tensor = saved.floats { tensor.copy(to: floats) }
    }

    /// One-byte-per-value rows (0 or 1) as packed bits.
    private func pack(bytes: [UInt8], rows count: Int) -> [UInt8] {
        var packed = [UInt8](repeating: 0, count: count * bytesPerRow)
        for r in 0..<count {
            for i in 0..<width where bytes[r * width + i] != 0 { packed[r * bytesPerRow + (i >> 3)] |= 1 << UInt8(i & 7) }
        }
        return packed
    }
}
