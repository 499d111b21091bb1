import Foundation
import Sim

/// Draws a learning curve (training return against environment steps, evaluation returns as dots) as a PNG.
public enum LearningCurve {
    public static func render(title: String, training: [(step: Double, value: Double)],
                              evaluation: [(step: Double, value: Double)], width: Int = 800, height: Int = 450) -> Canvas {
        var canvas = Canvas(width: width, height: height, background: .white)
        let left = 70.0, right = Double(width) - 20, top = 40.0, bottom = Double(height) - 50
        // Only finite points can be placed; a range too wide for a Double leaves the plot empty.
        let training = training.filter { $0.step.isFinite && $0.value.isFinite }
        let evaluation = evaluation.filter { $0.step.isFinite && $0.value.isFinite }
        let points = training + evaluation
        canvas.text(title, x: Int(left), y: 12, scale: 2, .black)
        guard let maxStep = points.map(\.step).max(), maxStep > 0,
              var low = points.map(\.value).min(), var high = points.map(\.value).max() else { return canvas }
        if high - low < 1e-9 { low -= 1; high += 1 }
        let pad = (high - low) * 0.05
        low -= pad; high += pad
        guard (high - low).isFinite else { return canvas }
        func x(_ step: Double) -> Double { left + step / maxStep * (right - left) }
        func y(_ value: Double) -> Double { bottom - (value - low) / (high - low) * (bottom - top) }
        /// A pixel coordinate for text, clamped so that extreme (but finite) values cannot trap the conversion.
        func pixel(_ coordinate: Double) -> Int { coordinate.isFinite ? Int(max(-1e6, min(1e6, coordinate))) : 0 }
        // Axes, grid and labels.
        for k in 0...4 {
            let value = low + (high - low) * Double(k) / 4, py = y(value)
            canvas.line(from: (left, py), to: (right, py), thickness: 1, .lightGray)
            canvas.text(String(format: "%.2f", value), x: 4, y: pixel(py) - 3, .black)
            let step = maxStep / 4 * Double(k)  // divided first: maxStep × 4 can overflow
            canvas.text(Self.compact(step), x: pixel(x(step)) - 10, y: Int(bottom) + 8, .black)
        }
        canvas.line(from: (left, top), to: (left, bottom), thickness: 1, .black)
        canvas.line(from: (left, bottom), to: (right, bottom), thickness: 1, .black)
        canvas.text("ENV STEPS", x: Int((left + right) / 2) - 25, y: height - 16, .black)
        for (a, b) in zip(training, training.dropFirst()) {
            canvas.line(from: (x(a.step), y(a.value)), to: (x(b.step), y(b.value)), thickness: 2, .blue)
        }
        for point in evaluation { canvas.fillCircle(centerX: x(point.step), centerY: y(point.value), radius: 4, .orange) }
        canvas.fillRect(x: width - 230, y: 12, width: 12, height: 4, .blue)
        canvas.text("TRAIN RETURN (MEAN 100)", x: width - 212, y: 10, .black)
        canvas.fillCircle(centerX: Double(width - 224), centerY: 28, radius: 4, .orange)
        canvas.text("EVAL RETURN", x: width - 212, y: 25, .black)
        return canvas
    }

    static func compact(_ value: Double) -> String {
        value >= 1e6 ? String(format: "%.1fM", value / 1e6) : value >= 1e3 ? String(format: "%.0fK", value / 1e3) : String(format: "%.0f", value)
    }
}
