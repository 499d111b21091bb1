import Foundation

/// Writes TensorBoard event files (`events.out.tfevents.*`): TFRecord framing (length, masked CRC-32C, payload,
/// masked CRC-32C) around `Event` protocol buffers holding scalar summaries. Only what scalars need is encoded.
public final class TensorBoardWriter {
    public let path: String
    private let handle: FileHandle

    /// Creates `events.out.tfevents.<time>.dojo` in `directory` (or appends to an existing event file there, on resume).
    public init(directory: String) throws {
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory))?
            .filter { $0.hasPrefix("events.out.tfevents.") }.sorted().last
        if let existing {
            path = directory + "/" + existing
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
        } else {
            path = directory + "/events.out.tfevents.\(Int(Date().timeIntervalSince1970)).dojo"
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try write(event(step: 0, body: Self.field(3, string: "brain.Event:2")))
        }
    }

    deinit { try? handle.close() }

    /// Logs scalar `values` (tag → value) at `step`.
    public func scalars(_ values: [(String, Double)], step: Int) throws {
        var summary = Data()
        for (tag, value) in values {
            var item = Self.field(1, string: tag)
            item.append(0x15)  // field 2, fixed32: simple_value
            withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { item.append(contentsOf: $0) }
            summary.append(Self.field(1, bytes: item))
        }
        try write(event(step: step, body: Self.field(5, bytes: summary)))
    }

    public func flush() { try? handle.synchronize() }

    private func event(step: Int, body: Data) -> Data {
        var event = Data([0x09])  // field 1, fixed64: wall_time
        withUnsafeBytes(of: Date().timeIntervalSince1970.bitPattern.littleEndian) { event.append(contentsOf: $0) }
        event.append(0x10)  // field 2, varint: step
        event.append(Self.varint(UInt64(step)))
        event.append(body)
        return event
    }

    private func write(_ payload: Data) throws {
        var record = Data()
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { record.append(contentsOf: $0) }
        let lengthBytes = record
        withUnsafeBytes(of: Self.maskedCRC(lengthBytes).littleEndian) { record.append(contentsOf: $0) }
        record.append(payload)
        withUnsafeBytes(of: Self.maskedCRC(payload).littleEndian) { record.append(contentsOf: $0) }
        do { try handle.write(contentsOf: record) } catch {
            throw TrainingError.cannotWrite(path, error.localizedDescription)
        }
    }

    // MARK: Protocol-buffer and CRC helpers

    static func varint(_ value: UInt64) -> Data {
        var v = value, bytes = Data()
        repeat {
            let low = UInt8(v & 0x7F)
            v >>= 7
            bytes.append(v == 0 ? low : low | 0x80)
        } while v != 0
        return bytes
    }

    static func field(_ number: UInt64, bytes: Data) -> Data {
        var data = varint(number << 3 | 2)
        data.append(varint(UInt64(bytes.count)))
        data.append(bytes)
        return data
    }

    static func field(_ number: UInt64, string: String) -> Data { field(number, bytes: Data(string.utf8)) }

    /// CRC-32C (Castagnoli), as TFRecord uses, masked: rotate right by 15 and add 0xa282ead8.
    static func maskedCRC(_ data: Data) -> UInt32 {
        let crc = crc32c(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    static let crcTable: [UInt32] = (0..<256).map { index -> UInt32 in
        var c = UInt32(index)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    static func crc32c(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
