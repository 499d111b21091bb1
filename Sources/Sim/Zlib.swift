import CZlib

/// zlib streams (RFC 1950) for PNG frames and the compressed sections of checkpoints.
public enum Zlib {
    /// `bytes` as one zlib stream; level 1 (fastest) to 9 (smallest).
    public static func compress(_ bytes: UnsafeRawBufferPointer, level: Int32) -> [UInt8] {
        var length = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = output.withUnsafeMutableBufferPointer {
            compress2($0.baseAddress, &length, bytes.bindMemory(to: UInt8.self).baseAddress, uLong(bytes.count), level)
        }
        // compressBound is zlib's own bound, so only a programming error (a bad level) fails here.
        precondition(status == Z_OK, "zlib compress2 failed with status \(status)")
        output.removeLast(output.count - Int(length))
        return output
    }

    /// The bytes a stream holds, when it decodes to exactly `expectedCount` bytes with nothing after its end;
    /// nil for a stream that is corrupt, shorter, longer or followed by other bytes.
    public static func decompress(_ stream: [UInt8], expectedCount: Int) -> [UInt8]? {
        guard expectedCount >= 0, UInt64(expectedCount) < UInt64(uLong.max) else { return nil }
        var output = [UInt8](repeating: 0, count: max(expectedCount, 1))
        var outputLength = uLong(expectedCount), inputLength = uLong(stream.count)
        let status = output.withUnsafeMutableBufferPointer { out in
            stream.withUnsafeBufferPointer { uncompress2(out.baseAddress, &outputLength, $0.baseAddress, &inputLength) }
        }
        guard status == Z_OK, outputLength == uLong(expectedCount), inputLength == uLong(stream.count) else { return nil }
        output.removeLast(output.count - expectedCount)
        return output
    }
}
