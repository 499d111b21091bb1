import Foundation

/// An 8-bit RGBA color; alpha below 255 blends over what is drawn.
public struct Color: Equatable, Sendable {
    public var r, g, b, a: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8, _ a: UInt8 = 255) { self.r = r; self.g = g; self.b = b; self.a = a }

    public static let black = Color(0, 0, 0), white = Color(255, 255, 255)
    public static let gray = Color(128, 128, 128), darkGray = Color(48, 48, 48), lightGray = Color(200, 200, 200)
    public static let red = Color(220, 50, 47), green = Color(60, 180, 75), blue = Color(38, 139, 210)
    public static let yellow = Color(240, 200, 40), orange = Color(245, 130, 48), purple = Color(145, 30, 180)
    public static let cyan = Color(70, 200, 220)

    public func withAlpha(_ alpha: UInt8) -> Color { Color(r, g, b, alpha) }
}

/// An RGBA frame (row-major, top-left origin, 4 bytes a pixel) with the drawing primitives environments use to
/// draw themselves. Needs no window: headless rendering, PNG export and pixel tests work anywhere.
public struct Canvas: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// width × height × 4 bytes, RGBA.
    public var pixels: [UInt8]

    /// Largest width and height of a frame that commands render (4096 pixels: 64 MB of RGBA).
    public static let maximumSide = 4096

    /// Why a `width` × `height` frame should not be allocated, or nil when it may be.
    public static func sizeProblem(width: Int, height: Int) -> String? {
        guard width > 0, height > 0 else { return "a \(width)×\(height) frame has no pixels" }
        guard width <= maximumSide, height <= maximumSide else {
            return "a \(width)×\(height) frame is larger than the \(maximumSide)×\(maximumSide) pixels a render may have"
        }
        return nil
    }

    public init(width: Int, height: Int, background: Color = .black) {
        precondition(width > 0 && height > 0, "a canvas needs a positive size, got \(width)×\(height)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 4)
        fill(background)
    }

    public func pixel(x: Int, y: Int) -> Color {
        let i = (y * width + x) * 4
        return Color(pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3])
    }

    /// Sets one pixel, blending when `color.a` < 255; outside the canvas does nothing.
    @inline(__always)
    public mutating func plot(x: Int, y: Int, _ color: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 4
        if color.a == 255 {
            pixels[i] = color.r; pixels[i + 1] = color.g; pixels[i + 2] = color.b; pixels[i + 3] = 255
        } else {
            let a = UInt16(color.a), inverse = 255 - a
            pixels[i] = UInt8((UInt16(color.r) * a + UInt16(pixels[i]) * inverse) / 255)
            pixels[i + 1] = UInt8((UInt16(color.g) * a + UInt16(pixels[i + 1]) * inverse) / 255)
            pixels[i + 2] = UInt8((UInt16(color.b) * a + UInt16(pixels[i + 2]) * inverse) / 255)
            pixels[i + 3] = 255
        }
    }

    public mutating func fill(_ color: Color) {
        for i in stride(from: 0, to: pixels.count, by: 4) {
            pixels[i] = color.r; pixels[i + 1] = color.g; pixels[i + 2] = color.b; pixels[i + 3] = color.a
        }
    }

    /// Copies `other` with its top-left corner at (x, y), clipped to this canvas (no blending).
    public mutating func blit(_ other: Canvas, x: Int, y: Int) {
        for row in max(0, -y)..<min(other.height, height - y) where other.width > 0 {
            let from = max(0, -x), to = min(other.width, width - x)
            guard from < to else { continue }
            let source = (row * other.width + from) * 4, target = ((row + y) * width + from + x) * 4
            pixels.replaceSubrange(target..<(target + (to - from) * 4), with: other.pixels[source..<(source + (to - from) * 4)])
        }
    }

    /// Fills the axis-aligned rectangle with top-left (x, y), clipped to the canvas.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ color: Color) {
        guard w > 0, h > 0 else { return }
        // Clipped with saturating ends, so a rectangle far off the canvas draws nothing instead of trapping.
        let top = max(0, y), bottom = min(height, y.addingReportingOverflow(h).overflow ? Int.max : y + h)
        let left = max(0, x), right = min(width, x.addingReportingOverflow(w).overflow ? Int.max : x + w)
        guard top < bottom, left < right else { return }
        for py in top..<bottom {
            for px in left..<right { plot(x: px, y: py, color) }
        }
    }

    /// Outlines a rectangle with lines `thickness` pixels wide, drawn inside it.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, thickness t: Int = 1, _ color: Color) {
        fillRect(x: x, y: y, width: w, height: t, color)
        fillRect(x: x, y: y + h - t, width: w, height: t, color)
        fillRect(x: x, y: y + t, width: t, height: h - 2 * t, color)
        fillRect(x: x + w - t, y: y + t, width: t, height: h - 2 * t, color)
    }

    /// A pixel coordinate as an Int, held within ±2^31 so far-off shapes clip instead of trapping (NaN, from
    /// arithmetic on extreme coordinates, becomes 0).
    static func pixel(_ value: Double) -> Int { value.isNaN ? 0 : Int(min(max(value, -2_147_483_648), 2_147_483_647)) }

    /// Fills the disc of pixels whose centers lie within `radius` of (cx, cy).
    public mutating func fillCircle(centerX cx: Double, centerY cy: Double, radius: Double, _ color: Color) {
        let r2 = radius * radius
        guard cx.isFinite, cy.isFinite, radius.isFinite else { return }
        let top = max(0, Self.pixel((cy - radius).rounded(.down))), bottom = min(height - 1, Self.pixel((cy + radius).rounded(.up)))
        let left = max(0, Self.pixel((cx - radius).rounded(.down))), right = min(width - 1, Self.pixel((cx + radius).rounded(.up)))
        guard top <= bottom, left <= right else { return }
        for py in top...bottom {
            for px in left...right {
                let dx = Double(px) + 0.5 - cx, dy = Double(py) + 0.5 - cy
                if dx * dx + dy * dy <= r2 { plot(x: px, y: py, color) }
            }
        }
    }

    /// Fills a polygon (even-odd rule, pixel centers), e.g. a rotated car or an arm link.
    public mutating func fillPolygon(_ points: [(x: Double, y: Double)], _ color: Color) {
        guard points.count >= 3, points.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else { return }
        let minY = max(0, Self.pixel(points.map(\.y).min()!.rounded(.down)))
        let maxY = min(height - 1, Self.pixel(points.map(\.y).max()!.rounded(.up)))
        guard minY <= maxY else { return }
        var crossings: [Double] = []
        for py in minY...maxY {
            let y = Double(py) + 0.5
            crossings.removeAll(keepingCapacity: true)
            for i in 0..<points.count {
                let a = points[i], b = points[(i + 1) % points.count]
                if (a.y <= y && b.y > y) || (b.y <= y && a.y > y) {
                    crossings.append(a.x + (y - a.y) / (b.y - a.y) * (b.x - a.x))
                }
            }
            crossings.sort()
            for pair in stride(from: 0, to: crossings.count - 1, by: 2) {
                let start = max(0, Self.pixel((crossings[pair] - 0.5).rounded(.up)))
                let end = min(width - 1, Self.pixel((crossings[pair + 1] - 0.5).rounded(.down)))
                if start <= end { for px in start...end { plot(x: px, y: py, color) } }
            }
        }
    }

    /// A line `thickness` pixels wide between two points (a filled quadrilateral, at least one pixel).
    public mutating func line(from a: (x: Double, y: Double), to b: (x: Double, y: Double), thickness: Double = 1,
                              _ color: Color) {
        let dx = b.x - a.x, dy = b.y - a.y
        let length = (dx * dx + dy * dy).squareRoot()
        guard length > 0 else { fillCircle(centerX: a.x, centerY: a.y, radius: max(thickness, 1) / 2, color); return }
        let half = max(thickness, 1) / 2
        let nx = -dy / length * half, ny = dx / length * half
        fillPolygon([(a.x + nx, a.y + ny), (b.x + nx, b.y + ny), (b.x - nx, b.y - ny), (a.x - nx, a.y - ny)], color)
    }

    /// Draws `text` with the built-in 5×7 font, each font pixel `scale` canvas pixels, top-left at (x, y).
    /// Letters are shown in capitals; characters outside the font draw as `?`.
    public mutating func text(_ text: String, x: Int, y: Int, scale: Int = 1, _ color: Color) {
        var cursor = x
        for character in text.uppercased() {
            let glyph = BitmapFont.glyphs[character] ?? BitmapFont.glyphs["?"]!
            for (row, bits) in glyph.enumerated() {
                for column in 0..<5 where bits & (0x10 >> column) != 0 {
                    fillRect(x: cursor + column * scale, y: y + row * scale, width: scale, height: scale, color)
                }
            }
            cursor += 6 * scale
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    public static func textWidth(_ text: String, scale: Int = 1) -> Int { max(0, text.count * 6 - 1) * scale }
}

/// A 5×7 pixel font: each glyph is seven rows, bit 4 the leftmost column.
enum BitmapFont {
    static let glyphs: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1E, 0x01, 0x01, 0x0E, 0x01, 0x01, 0x1E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "A": [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "B": [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], "D": [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], "J": [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        "M": [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], "N": [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "Q": [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "V": [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "W": [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], "X": [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        "Y": [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04], "Z": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        " ": [0, 0, 0, 0, 0, 0, 0], ".": [0, 0, 0, 0, 0, 0x0C, 0x0C], ",": [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        ":": [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0], "-": [0, 0, 0, 0x1F, 0, 0, 0], "+": [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        "/": [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10], "=": [0, 0, 0x1F, 0, 0x1F, 0, 0],
        "(": [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02], ")": [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        "[": [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E], "]": [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E],
        "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03], "!": [0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04],
        "?": [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04], "_": [0, 0, 0, 0, 0, 0, 0x1F],
        "<": [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02], ">": [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
        "#": [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A], "*": [0, 0x04, 0x15, 0x0E, 0x15, 0x04, 0],
        "|": [0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04], "'": [0x04, 0x04, 0x08, 0, 0, 0, 0],
    ]
}
