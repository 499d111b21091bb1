import CZlib
import Foundation

extension Canvas {
    /// The frame as a PNG file (8-bit RGBA, no interlace), compressed with zlib.
    public func pngData() -> Data {
        // Raw scanlines, each prefixed with filter type 0 (none).
        var raw = [UInt8]()
        raw.reserveCapacity(height * (width * 4 + 1))
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(y * width * 4)..<((y + 1) * width * 4)])
        }
        let compressed = raw.withUnsafeBytes { Zlib.compress($0, level: 6) }

        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func chunk(_ type: String, _ body: [UInt8]) {
            var length = UInt32(body.count).bigEndian
            png.append(Data(bytes: &length, count: 4))
            let typed = Array(type.utf8) + body
            png.append(contentsOf: typed)
            var crc = UInt32(crc32(0, typed, uInt(typed.count))).bigEndian
            png.append(Data(bytes: &crc, count: 4))
        }
        func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 6, 0, 0, 0])
        chunk("IDAT", compressed)
        chunk("IEND", [])
        return png
    }

    /// Writes the frame as PNG atomically (temporary file, then rename).
    public func writePNG(to path: String) throws {
        try pngData().write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
