/// A rectangle `length` × `width` (m) centred at (x, y), its length along the direction (cos, sin).
struct OrientedRectangle: Sendable {
    var x, y: Double
    var cos, sin: Double
    var length, width: Double

    /// The four corners, counter-clockwise in a y-up frame.
    var corners: [(x: Double, y: Double)] {
        let hl = length / 2, hw = width / 2
        return [(-hl, -hw), (hl, -hw), (hl, hw), (-hl, hw)].map { corner in
            (x + corner.0 * cos - corner.1 * sin, y + corner.0 * sin + corner.1 * cos)
        }
    }

    /// Half the extent of this rectangle's projection onto the unit axis (ux, uy).
    @inline(__always)
    func projectedRadius(_ ux: Double, _ uy: Double) -> Double {
        length / 2 * abs(ux * cos + uy * sin) + width / 2 * abs(-ux * sin + uy * cos)
    }

    /// Separating-axis test: two convex shapes are disjoint exactly when their projections onto some edge normal
    /// do not overlap, and a rectangle pair has only four distinct normals. Touching counts as overlapping.
    @inline(__always)
    func overlaps(_ other: OrientedRectangle) -> Bool {
        let dx = other.x - x, dy = other.y - y
        @inline(__always) func separates(_ ux: Double, _ uy: Double) -> Bool {
            abs(dx * ux + dy * uy) > projectedRadius(ux, uy) + other.projectedRadius(ux, uy)
        }
        return !(separates(cos, sin) || separates(-sin, cos) || separates(other.cos, other.sin)
                 || separates(-other.sin, other.cos))
    }

    /// Naive reference for ``overlaps(_:)``: two convex polygons overlap when an edge of one crosses an edge of the
    /// other, or one lies inside the other (a corner inside). Used by the tests.
    func overlapsByPolygonClipping(_ other: OrientedRectangle) -> Bool {
        let a = corners, b = other.corners
        func cross(_ o: (x: Double, y: Double), _ p: (x: Double, y: Double), _ q: (x: Double, y: Double)) -> Double {
            (p.x - o.x) * (q.y - o.y) - (p.y - o.y) * (q.x - o.x)
        }
        func segmentsCross(_ p1: (x: Double, y: Double), _ p2: (x: Double, y: Double),
                           _ q1: (x: Double, y: Double), _ q2: (x: Double, y: Double)) -> Bool {
            let d1 = cross(q1, q2, p1), d2 = cross(q1, q2, p2), d3 = cross(p1, p2, q1), d4 = cross(p1, p2, q2)
            return (d1 * d2 <= 0) && (d3 * d4 <= 0)
        }
        func inside(_ point: (x: Double, y: Double), _ polygon: [(x: Double, y: Double)]) -> Bool {
            (0..<4).allSatisfy { cross(polygon[$0], polygon[($0 + 1) % 4], point) >= 0 }
        }
        for i in 0..<4 {
            for j in 0..<4 where segmentsCross(a[i], a[(i + 1) % 4], b[j], b[(j + 1) % 4]) { return true }
        }
        return inside(a[0], b) || inside(b[0], a)
    }
}
