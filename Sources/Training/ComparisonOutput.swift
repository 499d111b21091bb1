import Foundation
import Sim

/// `dojo compare`'s outputs: the terminal table, `comparison.md`, `comparison.csv` and `comparison.png`.
extension ComparisonReport {
    /// A score for a table: four significant figures or so, without exponents for everyday magnitudes.
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "nan" }
        let size = abs(value)
        if size >= 1e7 || (size < 1e-3 && size > 0) { return String(format: "%.3e", value) }
        return String(format: size >= 1000 ? "%.0f" : size >= 100 ? "%.1f" : size >= 1 ? "%.2f" : "%.3f", value)
    }

    static func format(_ interval: Statistics.Interval) -> String {
        "\(format(interval.estimate)) [\(format(interval.low)), \(format(interval.high))]"
    }

    static func formatProbability(_ interval: Statistics.Interval) -> String {
        String(format: "%.2f [%.2f, %.2f]", interval.estimate, interval.low, interval.high)
    }

    var caption: String {
        "\(metric.key): 95% stratified-bootstrap percentile intervals (\(reps) resamples, --seed \(seed)); " +
            "final = last evaluation, best = \(metric.lowerIsBetter ? "least (lower is better)" : "best") evaluation, auc = area under the evaluation curve / step span"
    }

    /// Rows of the aggregate table: group, runs, score, mean, median, IQM.
    var aggregateRows: [[String]] {
        groups.indices.flatMap { g in
            RunScore.allCases.map { score in
                let aggregate = aggregates[g][score]!
                return [score == .final ? groups[g].label : "", score == .final ? String(groups[g].runs.count) : "", score.rawValue,
                        Self.format(aggregate.mean), Self.format(aggregate.median), Self.format(aggregate.interquartileMean)]
            }
        }
    }

    static let aggregateHeader = ["group", "runs", "score", "mean [95% CI]", "median [95% CI]", "IQM [95% CI]"]

    /// The P(row > column) matrix as rows (first column the row's label).
    var improvementRows: [[String]] {
        groups.indices.map { i in
            [groups[i].label] + groups.indices.map { j in
                i == j ? "-" : improvement[i][j].map(Self.formatProbability) ?? "n/a (different tasks)"
            }
        }
    }

    var perRunRows: [[String]] {
        groups.flatMap { group in
            group.runs.map { run in
                [group.label, run.name, run.task, Self.format(run.final), Self.format(run.best), Self.format(run.area),
                 LearningCurve.compact(run.lastStep), String(run.steps.count)]
            }
        }
    }

    static let perRunHeader = ["group", "run", "task", "final", "best", "auc", "last step", "evaluations"]

    var allWarnings: [String] {
        groups.flatMap { group in group.warnings.map { "\(group.label): \($0)" } } + warnings
    }

    /// The table printed on the terminal.
    public func terminalTable() -> String {
        var lines = [caption, "", Self.aligned([Self.aggregateHeader] + aggregateRows)]
        if groups.count > 1 {
            lines += ["", "P(row > column) of final scores, ties count 1/2, with 95% CI:",
                      Self.aligned([["", ] + groups.map(\.label)] + improvementRows)]
        }
        lines += ["", "Per run:", Self.aligned([Self.perRunHeader] + perRunRows)]
        if !allWarnings.isEmpty { lines += [""] + allWarnings.map { "warning: \($0)" } }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Columns padded to their widest cell, two spaces apart.
    static func aligned(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.map(\.count).max() ?? 0)).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max()! }
        return rows.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }

    /// `comparison.md`: the same tables in Markdown, the figure, warnings and how the numbers were made.
    public func markdown() -> String {
        func table(_ header: [String], _ rows: [[String]]) -> String {
            let escape = { (cell: String) in cell.replacingOccurrences(of: "|", with: "\\|") }
            return ([header, header.map { _ in "---" }] + rows).map { "| " + $0.map(escape).joined(separator: " | ") + " |" }
                .joined(separator: "\n")
        }
        var text = "# Comparison of \(groups.map(\.label).joined(separator: ", "))\n\n\(caption).\n\n"
        text += "![learning curves and performance profile](comparison.png)\n\n## Aggregates across runs\n\n"
        text += table(Self.aggregateHeader, aggregateRows) + "\n\n"
        text += "Mean over runs (per task, then over tasks); median of the runs; IQM = mean of the middle 50% of runs " +
            "(⌊n/4⌋ cut from each end, as scipy.stats.trim_mean(·, 0.25) and rliable). Intervals resample runs within each task.\n"
        if groups.count > 1 {
            text += "\n## Probability of improvement\n\nP(row > column): the chance that a run of the row's group ends with a higher final score than a run of the column's (ties count 1/2), with its 95% CI.\n\n"
            text += table(["P(row > column)"] + groups.map(\.label), improvementRows) + "\n"
        }
        text += "\n## Per run\n\n" + table(Self.perRunHeader, perRunRows) + "\n"
        text += "\n## Groups\n\n" + groups.map { "- \($0.label): `\($0.path)`" }.joined(separator: "\n") + "\n"
        if !allWarnings.isEmpty { text += "\n## Warnings\n\n" + allWarnings.map { "- \($0)" }.joined(separator: "\n") + "\n" }
        return text
    }

    /// `comparison.csv`, one long table: `section` is `run` (a run's score), `aggregate` (a statistic across a
    /// group's runs with its interval) or `improvement` (P(group > versus) of final scores with its interval).
    public func csv() -> String {
        func cell(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var rows = [["section", "group", "run", "versus", "score", "statistic", "estimate", "ci_low", "ci_high", "metric"]]
        for group in groups {
            for run in group.runs {
                for score in RunScore.allCases {
                    rows.append(["run", group.label, run.name, "", score.rawValue, "value", "\(score.of(run))", "", "", metric.key])
                }
            }
        }
        for (g, group) in groups.enumerated() {
            for score in RunScore.allCases {
                let aggregate = aggregates[g][score]!
                for (name, interval) in [("mean", aggregate.mean), ("median", aggregate.median), ("iqm", aggregate.interquartileMean)] {
                    rows.append(["aggregate", group.label, "", "", score.rawValue, name, "\(interval.estimate)", "\(interval.low)",
                                 "\(interval.high)", metric.key])
                }
            }
        }
        for i in groups.indices {
            for j in groups.indices {
                guard let interval = improvement[i][j] else { continue }
                rows.append(["improvement", groups[i].label, "", groups[j].label, RunScore.final.rawValue, "probability_of_improvement",
                             "\(interval.estimate)", "\(interval.low)", "\(interval.high)", metric.key])
            }
        }
        return rows.map { $0.map(cell).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// Writes `comparison.md`, `comparison.csv` and `comparison.png` into `folder` (created if needed; these three
    /// files are replaced). Returns their paths.
    public func write(to folder: String) throws -> [String] {
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw TrainingError.cannotWrite(folder, error.localizedDescription)
        }
        let base = URL(fileURLWithPath: folder)
        let markdownPath = base.appendingPathComponent("comparison.md").path, csvPath = base.appendingPathComponent("comparison.csv").path
        let pngPath = base.appendingPathComponent("comparison.png").path
        for (path, text) in [(markdownPath, markdown()), (csvPath, csv())] {
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw TrainingError.cannotWrite(path, error.localizedDescription)
            }
        }
        do { try ComparisonPlot.render(self).writePNG(to: pngPath) } catch {
            throw TrainingError.cannotWrite(pngPath, "\(error)")
        }
        return [markdownPath, csvPath, pngPath]
    }
}

/// `comparison.png`: (left) each group's IQM learning curve with its 95% band; (right) the performance profile
/// of final scores.
public enum ComparisonPlot {
    static let palette: [Color] = [.blue, .orange, .green, .red, .purple, .cyan, Color(140, 86, 75), Color(227, 119, 194), .gray, .yellow]

    /// Tick values at a round spacing (1, 2 or 5 × 10^k) covering [low, high], about `count` of them.
    static func ticks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
        guard high > low, (high - low).isFinite else { return [low] }
        let rough = (high - low) / Double(count)
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        guard step.isFinite, step > 0, low + step > low else { return [low, high] }
        let first = (low / step).rounded(.up) * step
        // At most a few more than `count`, whatever rounding does at extreme magnitudes.
        return Array(stride(from: first, through: high + step * 1e-9, by: step).prefix(count * 3)).map { abs($0) < step * 1e-9 ? 0 : $0 }
    }

    /// A tick label: thousands as K and millions as M for steps, otherwise as few decimals as the spacing needs.
    static func label(_ value: Double, spacing: Double) -> String {
        if abs(value) >= 1e6 && spacing >= 1e5 { return String(format: "%gM", value / 1e6) }
        if abs(value) >= 1e3 && spacing >= 100 { return String(format: "%gK", value / 1e3) }
        let decimals = !(spacing > 0 && spacing.isFinite) || spacing >= 1 ? 0 : min(6, Int((-log10(spacing)).rounded(.up)))
        return String(format: "%.\(decimals)f", value)
    }

    struct Panel {
        let left, right, top, bottom: Double
        let xLow, xHigh, yLow, yHigh: Double
        func x(_ value: Double) -> Double { left + (value - xLow) / (xHigh - xLow) * (right - left) }
        func y(_ value: Double) -> Double { bottom - (value - yLow) / (yHigh - yLow) * (bottom - top) }
    }

    /// Axis range of the finite `values`, padded 5%; a flat range is widened by 5% of its magnitude (or 0.05).
    /// Values beyond ±1e300 are clamped so that the span stays finite.
    static func range(_ values: [Double]) -> (Double, Double) {
        let finite = values.filter(\.isFinite)
        guard var low = finite.min().map({ max($0, -1e300) }), var high = finite.max().map({ min($0, 1e300) }) else { return (0, 1) }
        let scale = max(abs(low), abs(high)) > 0 ? max(abs(low), abs(high)) : 1
        if high - low <= scale * 1e-9 { low -= scale * 0.05; high += scale * 0.05 }
        let pad = (high - low) * 0.05
        return (low - pad, high + pad)
    }

    /// A pixel coordinate as an Int, clamped so that extreme (but finite) coordinates cannot trap; NaN becomes 0.
    static func pixel(_ coordinate: Double) -> Int { coordinate.isFinite ? Int(max(-1e6, min(1e6, coordinate))) : 0 }

    /// Axes, grid, round tick labels and axis titles of a panel.
    static func drawAxes(_ canvas: inout Canvas, _ panel: Panel, title: String, xTitle: String, yTitle: String) {
        let xTicks = ticks(panel.xLow, panel.xHigh), yTicks = ticks(panel.yLow, panel.yHigh)
        let xSpacing = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1, ySpacing = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        for value in yTicks {
            let py = panel.y(value)
            canvas.line(from: (panel.left, py), to: (panel.right, py), thickness: 1, .lightGray.withAlpha(160))
            let text = label(value, spacing: ySpacing)
            canvas.text(text, x: Int(panel.left) - 6 - Canvas.textWidth(text), y: pixel(py) - 3, .black)
        }
        for value in xTicks {
            let px = panel.x(value)
            canvas.line(from: (px, panel.bottom), to: (px, panel.bottom + 4), thickness: 1, .black)
            let text = label(value, spacing: xSpacing)
            canvas.text(text, x: pixel(px) - Canvas.textWidth(text) / 2, y: Int(panel.bottom) + 8, .black)
        }
        canvas.line(from: (panel.left, panel.top), to: (panel.left, panel.bottom), thickness: 1, .black)
        canvas.line(from: (panel.left, panel.bottom), to: (panel.right, panel.bottom), thickness: 1, .black)
        canvas.text(title, x: Int(panel.left), y: 8, scale: 2, .black)
        canvas.text(xTitle, x: Int((panel.left + panel.right) / 2) - Canvas.textWidth(xTitle) / 2, y: Int(panel.bottom) + 24, .black)
        // The y title sits above the axis (the 5×7 font is not drawn rotated).
        canvas.text(yTitle, x: Int(panel.left) - 4, y: Int(panel.top) - 16, .darkGray)
    }

    public static func render(_ report: ComparisonReport, width: Int = 1200, height: Int = 480) -> Canvas {
        var canvas = Canvas(width: width, height: height, background: .white)
        let metricName = report.metric.key.uppercased()
        let half = Double(width) / 2
        // Left: IQM curves with bands.
        let curves = report.curves
        let (stepLow, stepHigh) = (0.0, max(1, curves.flatMap(\.steps).max() ?? 1))
        let (yLow, yHigh) = range(curves.flatMap { $0.low + $0.high + $0.iqm })
        let left = Panel(left: 80, right: half - 30, top: 84, bottom: Double(height) - 60,
                         xLow: stepLow, xHigh: stepHigh, yLow: yLow, yHigh: yHigh)
        drawAxes(&canvas, left, title: "IQM LEARNING CURVE", xTitle: "ENVIRONMENT STEPS", yTitle: "IQM OF \(metricName) (95% CI)")
        for (index, curve) in curves.enumerated() {
            let color = palette[index % palette.count]
            if curve.steps.count > 1 {
                let upper = zip(curve.steps, curve.high).map { (left.x($0), left.y($1)) }
                let lower = zip(curve.steps, curve.low).map { (left.x($0), left.y($1)) }.reversed()
                canvas.fillPolygon(upper + lower, color.withAlpha(60))
            }
            let points = zip(curve.steps, curve.iqm).map { (left.x($0), left.y($1)) }
            for (a, b) in zip(points, points.dropFirst()) { canvas.line(from: a, to: b, thickness: 2, color) }
            if points.count == 1 { canvas.fillCircle(centerX: points[0].0, centerY: points[0].1, radius: 3, color) }
        }
        // Right: performance profile of final scores.
        let finals = report.groups.map { $0.runs.map(\.final) }
        let (tauLow, tauHigh) = range(finals.flatMap { $0 })
        let right = Panel(left: half + 70, right: Double(width) - 30, top: 84, bottom: Double(height) - 60,
                          xLow: tauLow, xHigh: tauHigh, yLow: 0, yHigh: 1.05)
        drawAxes(&canvas, right, title: "PERFORMANCE PROFILE", xTitle: "FINAL \(metricName) THRESHOLD TAU",
                 yTitle: "FRACTION OF RUNS WITH FINAL SCORE > TAU")
        let taus = (0...200).map { tauLow + (tauHigh - tauLow) * Double($0) / 200 }
        for (index, group) in report.groups.enumerated() {
            let profile = Statistics.performanceProfile(group.matrix(RunScore.final.of), thresholds: taus)
            let color = palette[index % palette.count]
            for k in 1..<taus.count {
                canvas.line(from: (right.x(taus[k - 1]), right.y(profile[k - 1])), to: (right.x(taus[k]), right.y(profile[k - 1])),
                            thickness: 2, color)
                if profile[k] != profile[k - 1] {
                    canvas.line(from: (right.x(taus[k]), right.y(profile[k - 1])), to: (right.x(taus[k]), right.y(profile[k])),
                                thickness: 2, color)
                }
            }
        }
        // Legend: one row under the titles, wrapping across the width, so it never covers a curve.
        var legendX = 80, legendY = 34
        for (index, group) in report.groups.enumerated() {
            let entry = "\(group.label) (\(group.runs.count) RUN\(group.runs.count == 1 ? "" : "S"))"
            let entryWidth = 20 + Canvas.textWidth(entry) + 24
            if legendX + entryWidth > width - 20 && legendX > 80 { legendX = 80; legendY += 12 }
            canvas.fillRect(x: legendX, y: legendY + 2, width: 14, height: 4, palette[index % palette.count])
            canvas.text(entry, x: legendX + 20, y: legendY, .black)
            legendX += entryWidth
        }
        return canvas
    }
}
