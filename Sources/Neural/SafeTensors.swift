import Foundation

/// Reading and writing the safetensors format (an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw little-endian data), so Dojo weights load in PyTorch with
/// `safetensors.torch.load_file` and PyTorch's `state_dict` files load in Dojo.
///
/// Dojo stores float32 tensors (`F32`) and int64 counters (`I64`, e.g. BatchNorm's `num_batches_tracked`).
public enum SafeTensors {
    public enum DType: String, Sendable {
        case float32 = "F32", int64 = "I64", uint8 = "U8"
        var byteCount: Int {
            switch self {
            case .float32: return 4
            case .int64: return 8
            case .uint8: return 1
            }
        }
    }

    /// One stored tensor's values.
    public enum Value: Equatable, Sendable {
        case float32(Tensor)
        case int64(shape: [Int], values: [Int64])
        case uint8(shape: [Int], values: [UInt8])

        public var shape: [Int] {
            switch self {
            case .float32(let t): return t.shape
            case .int64(let shape, _), .uint8(let shape, _): return shape
            }
        }
        public var dtype: DType {
            switch self {
            case .float32: return .float32
            case .int64: return .int64
            case .uint8: return .uint8
            }
        }
    }

    /// The contents of a file: tensors by name (in file order) and the free-form metadata.
    public struct File: Sendable {
        public var names: [String]
        public var tensors: [String: Value]
        public var metadata: [String: String]

        public init(names: [String] = [], tensors: [String: Value] = [:], metadata: [String: String] = [:]) {
            self.names = names
            self.tensors = tensors
            self.metadata = metadata
        }

        /// Appends a tensor; names must be unique.
        public mutating func append(_ name: String, _ value: Value) {
            precondition(tensors[name] == nil, "safetensors: duplicate tensor name '\(name)'")
            names.append(name)
            tensors[name] = value
        }

        /// The int64 values of tensor `name`, or an error naming the file and the tensor.
        public func int64(_ name: String, path: String) throws -> [Int64] {
            guard let value = tensors[name] else { throw SafeTensorsError.missingTensor(path: path, tensor: name) }
            guard case .int64(_, let values) = value else {
                throw SafeTensorsError.wrongDType(path: path, tensor: name, expected: "I64", found: value.dtype.rawValue)
            }
            return values
        }

        /// The float32 tensor `name`, or an error naming the file, the tensor and what was found instead.
        public func float32(_ name: String, path: String) throws -> Tensor {
            guard let value = tensors[name] else { throw SafeTensorsError.missingTensor(path: path, tensor: name) }
            guard case .float32(let tensor) = value else {
                throw SafeTensorsError.wrongDType(path: path, tensor: name, expected: "F32", found: value.dtype.rawValue)
            }
            return tensor
        }

        /// The int64 values of tensor `name`, which must hold exactly `count` values (whatever its shape).
        public func int64(_ name: String, path: String, count: Int) throws -> [Int64] {
            let values = try int64(name, path: path)
            guard values.count == count else {
                throw SafeTensorsError.wrongShape(path: path, tensor: name, expected: [count], found: tensors[name]?.shape ?? [])
            }
            return values
        }

        /// Tensor `name` as `count` integers (any count when nil), each in `range`; the error names the first value
        /// outside it. For counters, indices and actions read back from files someone may have altered.
        public func integers(_ name: String, path: String, count: Int? = nil, in range: ClosedRange<Int64>) throws -> [Int] {
            let values = try count.map { try int64(name, path: path, count: $0) } ?? int64(name, path: path)
            if let index = values.firstIndex(where: { !range.contains($0) }) {
                throw SafeTensorsError.valueOutOfRange(path: path, tensor: name, index: index, value: "\(values[index])",
                                                       expected: "\(range.lowerBound)...\(range.upperBound)")
            }
            return values.map { Int($0) }
        }

        /// The float32 tensor `name`, which must hold exactly `count` values (whatever its shape).
        public func float32(_ name: String, path: String, count: Int) throws -> Tensor {
            let tensor = try float32(name, path: path)
            guard tensor.count == count else {
                throw SafeTensorsError.wrongShape(path: path, tensor: name, expected: [count], found: tensor.shape)
            }
            return tensor
        }
    }

    // MARK: Encoding

    /// The bytes of a safetensors file holding `file`, tensors laid out in `file.names` order.
    public static func encode(_ file: File) -> Data {
        var header = "{"
        var offset = 0
        var parts: [String] = []
        if !file.metadata.isEmpty {
            let items = file.metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(file.metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        for name in file.names {
            let value = file.tensors[name]!
            let byteCount = value.shape.reduce(1, *) * value.dtype.byteCount
            parts.append("\(jsonString(name)):{\"dtype\":\"\(value.dtype.rawValue)\",\"shape\":["
                         + value.shape.map(String.init).joined(separator: ",")
                         + "],\"data_offsets\":[\(offset),\(offset + byteCount)]}")
            offset += byteCount
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }  // pad with spaces to keep data aligned

        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for name in file.names {
            switch file.tensors[name]! {
            case .float32(let t): t.scalars.withUnsafeBytes { data.append(contentsOf: $0) }
            case .int64(_, let values): values.withUnsafeBytes { data.append(contentsOf: $0) }
            case .uint8(_, let values): data.append(contentsOf: values)
            }
        }
        return data
    }

    /// Writes `file` to `path` atomically (a temporary file renamed into place), so a crash never leaves a
    /// partial file.
    public static func write(_ file: File, to path: String) throws {
        do {
            try encode(file).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SafeTensorsError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }

    // MARK: Decoding

    /// Reads and validates the file at `path`.
    public static func read(from path: String) throws -> File {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SafeTensorsError.cannotRead(path: path, reason: error.localizedDescription)
        }
        return try decode(data, path: path)
    }

    /// Parses safetensors bytes; `path` only labels errors.
    public static func decode(_ data: Data, path: String) throws -> File {
        guard data.count >= 8 else {
            throw SafeTensorsError.truncated(path: path, detail: "the file has \(data.count) bytes, fewer than the 8-byte header length")
        }
        let headerLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw SafeTensorsError.truncated(path: path, detail: "the header claims \(headerLength) bytes but only \(data.count - 8) follow")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
            throw SafeTensorsError.malformedHeader(path: path, detail: "the header is not a JSON object")
        }
        var file = File()
        if let metadata = header["__metadata__"] {
            guard let strings = metadata as? [String: String] else {
                throw SafeTensorsError.malformedHeader(path: path, detail: "__metadata__ must map strings to strings")
            }
            file.metadata = strings
        }
        var entries: [(name: String, start: Int, end: Int, dtype: DType, shape: [Int])] = []
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any], let dtypeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw SafeTensorsError.malformedHeader(path: path, detail: "tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw SafeTensorsError.wrongDType(path: path, tensor: name, expected: "F32, I64 or U8", found: dtypeName)
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw SafeTensorsError.malformedHeader(path: path, detail: "tensor '\(name)' has a negative shape or offsets")
            }
            guard let expectedBytes = byteCount(shape: shape, dtype: dtype), expectedBytes <= dataLength else {
                throw SafeTensorsError.malformedHeader(path: path, detail:
                    "tensor '\(name)' of shape \(shape.prefix(8)) (\(dtypeName)) is larger than the file's \(dataLength) data bytes")
            }
            guard offsets[1] - offsets[0] == expectedBytes else {
                throw SafeTensorsError.malformedHeader(path: path, detail:
                    "tensor '\(name)' of shape \(shape) (\(dtypeName)) needs \(expectedBytes) bytes, its offsets span \(offsets[1] - offsets[0])")
            }
            guard offsets[1] <= dataLength else {
                throw SafeTensorsError.truncated(path: path, detail:
                    "tensor '\(name)' ends at byte \(offsets[1]) of the data section, which has only \(dataLength) bytes")
            }
            entries.append((name, offsets[0], offsets[1], dtype, shape))
        }
        entries.sort { ($0.start, $0.end, $0.name) < ($1.start, $1.end, $1.name) }  // empty tensors first at an offset
        var cursor = 0
        for entry in entries {
            guard entry.start == cursor else {
                throw SafeTensorsError.malformedHeader(path: path, detail: "tensor '\(entry.name)' overlaps another or leaves a gap at byte \(cursor)")
            }
            cursor = entry.end
        }
        guard cursor == dataLength else {
            throw SafeTensorsError.malformedHeader(path: path, detail: "\(dataLength - cursor) bytes after the last tensor belong to none")
        }
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for entry in entries {
                let bytes = UnsafeRawBufferPointer(rebasing: raw[(dataStart + entry.start)..<(dataStart + entry.end)])
                let count = entry.shape.reduce(1, *)
                switch entry.dtype {
                case .float32:
                    let scalars = (0..<count).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
                    file.append(entry.name, .float32(Tensor(shape: entry.shape, scalars: scalars)))
                case .int64:
                    let values = (0..<count).map { Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
                    file.append(entry.name, .int64(shape: entry.shape, values: values))
                case .uint8:
                    file.append(entry.name, .uint8(shape: entry.shape, values: Array(bytes)))
                }
            }
        }
        return file
    }

    /// Bytes of a tensor of `shape`, or nil when the product overflows (a crafted header must not trap).
    static func byteCount(shape: [Int], dtype: DType) -> Int? {
        var total = dtype.byteCount
        for extent in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            total = product
        }
        return total
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// What went wrong reading or writing a safetensors file; every message names the file, and the tensor where one
/// is at fault, and says how to fix it.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case truncated(path: String, detail: String)
    case malformedHeader(path: String, detail: String)
    case missingTensor(path: String, tensor: String)
    case unexpectedTensors(path: String, tensors: [String])
    case wrongDType(path: String, tensor: String, expected: String, found: String)
    case wrongShape(path: String, tensor: String, expected: [Int], found: [Int])
    case valueOutOfRange(path: String, tensor: String, index: Int, value: String, expected: String)
    /// A tensor whose values do not fit together with the rest (an episode table past its rows, for example).
    case inconsistent(path: String, tensor: String, detail: String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): return "\(path): cannot read the file (\(reason))."
        case .cannotWrite(let path, let reason): return "\(path): cannot write the file (\(reason)); check the folder exists and is writable."
        case .truncated(let path, let detail):
            return "\(path): the file is truncated: \(detail). It was probably cut off while copying; copy or save it again."
        case .malformedHeader(let path, let detail):
            return "\(path): not a valid safetensors file: \(detail)."
        case .missingTensor(let path, let tensor):
            return "\(path): tensor '\(tensor)' is missing. The file was saved from a different model; check the architecture options match."
        case .unexpectedTensors(let path, let tensors):
            return "\(path): the file has tensors this model does not: \(tensors.joined(separator: ", ")). Check the architecture options match."
        case .wrongDType(let path, let tensor, let expected, let found):
            return "\(path): tensor '\(tensor)' has dtype \(found), expected \(expected). Convert it, e.g. `tensor.float()` in PyTorch before saving."
        case .wrongShape(let path, let tensor, let expected, let found):
            return "\(path): tensor '\(tensor)' has shape \(found), expected \(expected). Check the layer sizes match the saved model."
        case .valueOutOfRange(let path, let tensor, let index, let value, let expected):
            return "\(path): tensor '\(tensor)' holds \(value) at index \(index), expected a value in \(expected). "
                + "The file was altered or saved by another run; use an unaltered checkpoint."
        case .inconsistent(let path, let tensor, let detail):
            return "\(path): tensor '\(tensor)' \(detail). The file was altered or saved by another run; use an unaltered checkpoint."
        }
    }
}

extension Module {
    /// The module's `state_dict` as a safetensors file (parameters and buffers under PyTorch names).
    public func stateFile(prefix: String = "", metadata: [String: String] = [:]) -> SafeTensors.File {
        var file = SafeTensors.File(metadata: metadata)
        for entry in stateEntries(prefix: prefix) { file.append(entry.name, entry.value) }
        return file
    }

    /// Saves the `state_dict` to `path` atomically.
    public func save(to path: String, prefix: String = "", metadata: [String: String] = [:]) throws {
        try SafeTensors.write(stateFile(prefix: prefix, metadata: metadata), to: path)
    }

    /// Loads every parameter and buffer from the safetensors file at `path`. Nothing is changed unless every
    /// tensor is present with the right dtype and shape; extra tensors are an error unless `strict` is false.
    public func load(from path: String, prefix: String = "", strict: Bool = true) throws {
        try stateEntries(prefix: prefix).load(from: SafeTensors.read(from: path), path: path, strict: strict)
    }
}

extension StateEntry {
    /// The entry's current contents as a safetensors value.
    public var value: SafeTensors.Value {
        switch storage {
        case .parameter(let p): return .float32(p.tensor)
        case .counter(let c): return .int64(shape: [], values: [c.value])
        }
    }
}

extension Array where Element == StateEntry {
    /// Checks every entry against `file` first, then copies: a failure leaves every value untouched.
    public func load(from file: SafeTensors.File, path: String, strict: Bool = true) throws {
        for entry in self {
            guard let stored = file.tensors[entry.name] else {
                throw SafeTensorsError.missingTensor(path: path, tensor: entry.name)
            }
            switch entry.storage {
            case .parameter(let p):
                guard case .float32(let t) = stored else {
                    throw SafeTensorsError.wrongDType(path: path, tensor: entry.name, expected: "F32", found: stored.dtype.rawValue)
                }
                guard t.shape == p.shape else {
                    throw SafeTensorsError.wrongShape(path: path, tensor: entry.name, expected: p.shape, found: t.shape)
                }
            case .counter:
                guard case .int64(let shape, _) = stored else {
                    throw SafeTensorsError.wrongDType(path: path, tensor: entry.name, expected: "I64", found: stored.dtype.rawValue)
                }
                guard shape.reduce(1, *) == 1 else {
                    throw SafeTensorsError.wrongShape(path: path, tensor: entry.name, expected: [], found: shape)
                }
            }
        }
        if strict {
            let known = Set(map(\.name))
            let extra = file.names.filter { !known.contains($0) }
            if !extra.isEmpty { throw SafeTensorsError.unexpectedTensors(path: path, tensors: extra) }
        }
        for entry in self {
            switch (entry.storage, file.tensors[entry.name]!) {
            case (.parameter(let p), .float32(let t)): p.load(t)
            case (.counter(let c), .int64(_, let values)): c.value = values[0]
            default: preconditionFailure("validated above")
            }
        }
    }
}
