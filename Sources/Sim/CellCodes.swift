/// The compact form of a one-hot grid observation: one small integer per cell instead of one float per cell and plane,
/// as MiniGrid's uint8 images hold object codes. An environment that declares ``ObservationKind/cellCodes(_:)`` writes
/// `cells` codes followed by `extras` plain values; ``expand(_:into:)`` rebuilds the one-hot observation exactly.
///
/// A code's low four bits name its plane plus one (0: no plane, the floor); bit 4 (16) sets ``markerPlane`` too (the
/// agent standing on a cell). Every code is 0...31, so it fits a byte.
public struct CellCodes: Sendable, Equatable {
    /// Cells coded (the grid or the view), one value each.
    public let cells: Int
    /// One-hot planes of the expanded form (at most 15).
    public let planes: Int
    /// The plane code bit 4 marks.
    public let markerPlane: Int
    /// Values after the codes, copied as they are (a has-key flag).
    public let extras: Int

    /// The bit of a code that marks ``markerPlane``.
    public static let markerBit = 16
    /// The largest code.
    public static let maximumCode = 31

    public init(cells: Int, planes: Int, markerPlane: Int, extras: Int) {
        precondition(cells >= 1 && (1...15).contains(planes) && (0..<planes).contains(markerPlane) && extras >= 0,
                     "cell codes need cells ≥ 1, 1...15 planes, a marker plane among them and extras ≥ 0")
        self.cells = cells
        self.planes = planes
        self.markerPlane = markerPlane
        self.extras = extras
    }

    /// Values of the compact observation.
    public var count: Int { cells + extras }
    /// Values of the expanded one-hot observation: `planes` planes of `cells`, channel-major, then the extras.
    public var expandedCount: Int { planes * cells + extras }

    /// Writes the one-hot observation (``expandedCount`` values) of the compact one (``count`` values). Codes are
    /// read as integers; a value that is not a valid code sets no plane (see ``isValid(_:)``).
    public func expand(_ codes: UnsafePointer<Float>, into planesOut: UnsafeMutablePointer<Float>) {
        planesOut.update(repeating: 0, count: expandedCount)
        let markerOffset = markerPlane &* cells
        for i in 0..<cells {
            let value = codes[i]
            guard value >= 1, value <= Float(Self.maximumCode) else { continue }
            let code = Int(value)
            let plane = code & 15
            if plane >= 1 && plane <= planes { planesOut[(plane &- 1) &* cells &+ i] = 1 }
            if code & Self.markerBit != 0 { planesOut[markerOffset &+ i] = 1 }
        }
        (planesOut + planes * cells).update(from: codes + cells, count: extras)
    }

    /// Whether `codes` (``count`` values) holds integer codes that name existing planes, before the extras.
    public func isValid(_ codes: UnsafePointer<Float>) -> Bool {
        for i in 0..<cells {
            let value = codes[i]
            guard value >= 0, value <= Float(Self.maximumCode), value == value.rounded(.down), Int(value) & 15 <= planes else {
                return false
            }
        }
        return true
    }
}
