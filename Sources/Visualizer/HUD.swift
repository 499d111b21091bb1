import Foundation
import Sim

/// What the heads-up display shows beside a frame: where the episode is, what the agent did and why.
public struct HUDInfo: Sendable {
    public var title = ""
    public var episode = 0
    public var step = 0
    public var reward = 0.0
    public var episodeReturn = 0.0
    public var action = ""
    /// Per-action values drawn as bars: Q-values (DQN) or probabilities (actor-critic), with the action names.
    public var bars: [(label: String, value: Double)] = []
    public var barsTitle = ""
    /// The bar of the action taken, drawn in yellow (nil: none yet). The bars are the values of the state that action
    /// was chosen in.
    public var highlighted: Int?
    /// The value estimate V(s), when the policy has one.
    public var value: Double?
    /// Environment facts worth reading (e.g. "distance 0.021 m", "speed 27.4 m/s").
    public var lines: [String] = []
    /// A recurrent policy's hidden state, drawn as a strip of cells (blue negative, red positive).
    public var hiddenState: [Float]?
    /// Attention of the ego (entity 0) over the entities: their positions in the frame and the weights; drawn as
    /// lines from the ego whose thickness and opacity grow with the weight.
    public var attention: [(position: (x: Double, y: Double), weight: Double)] = []
    public var status = ""

    public init() {}
}

/// Draws the heads-up display: the environment's frame on top, a panel of text and bars under it. Pure Canvas
/// drawing, so headless frames and videos carry the same display as the window.
public enum HUD {
    static let lineHeight = 10
    static let panelBackground = Color(24, 26, 30)
    static let text = Color(230, 230, 230)

    /// The frame with the panel below it (at least 320 pixels wide).
    public static func compose(_ frame: Canvas, _ info: HUDInfo) -> Canvas {
        let barRows = info.bars.count
        let lines = 3 + info.lines.count + (info.hiddenState == nil ? 0 : 1)
        // A fixed minimum of seven rows keeps frames the same size through an episode (videos need that).
        let panelHeight = 8 + lineHeight * max(lines, barRows + 1, 7) + 6
        let width = max(frame.width, 320)
        var canvas = Canvas(width: width, height: frame.height + panelHeight, background: panelBackground)
        let offset = Double((width - frame.width) / 2)
        canvas.blit(frame, x: Int(offset), y: 0)
        if let ego = info.attention.first?.position {
            for (position, weight) in info.attention.dropFirst() where weight > 0.01 {
                canvas.line(from: (ego.x + offset, ego.y), to: (position.x + offset, position.y), thickness: 1 + 5 * weight,
                            Color(255, 60, 200, UInt8(min(255, 60 + 195 * weight))))
            }
            canvas.text(String(format: "SELF %.2f", info.attention[0].weight), x: Int(ego.x + offset) - 20, y: max(0, Int(ego.y) - 16), .white)
        }
        let top = frame.height + 6
        var y = top
        func line(_ string: String, x: Int = 6, _ color: Color = text) {
            canvas.text(string, x: x, y: y, color)
            y += lineHeight
        }
        line("\(info.title)  EP \(info.episode)  STEP \(info.step)  \(info.status)")
        line(String(format: "REWARD %+.3f  RETURN %.3f", info.reward, info.episodeReturn))
        line("ACTION \(info.action)" + (info.value.map { String(format: "  V %.3f", $0) } ?? ""))
        for extra in info.lines { line(extra) }
        if let state = info.hiddenState {
            let cell = max(1, min(4, (width / 2 - 12) / max(state.count, 1)))
            for (k, v) in state.enumerated() {
                let intensity = UInt8(min(255, abs(Double(v)) * 255))
                canvas.fillRect(x: 6 + k * cell, y: y, width: cell, height: lineHeight - 2,
                                v >= 0 ? Color(intensity, 40, 40) : Color(40, 40, intensity))
            }
        }
        // Bars: one row per action, scaled to the largest magnitude; the action taken highlighted.
        guard !info.bars.isEmpty else { return canvas }
        let left = width / 2 + 4, barWidth = width - left - 80
        var by = top
        canvas.text(info.barsTitle, x: left, y: by, text)
        by += lineHeight
        // Non-finite values (a diverged network) draw no bar instead of trapping in the conversion.
        let scale = max(info.bars.map { $0.value.isFinite ? abs($0.value) : 0 }.max() ?? 1, 1e-9)
        for (index, bar) in info.bars.enumerated() {
            let length = bar.value.isFinite ? Int(Double(barWidth) * abs(bar.value) / scale) : 0
            let color = index == info.highlighted ? Color.yellow : (bar.value >= 0 ? Color.green : Color.red)
            canvas.text(String(bar.label.prefix(6)), x: left, y: by, text)
            canvas.fillRect(x: left + 40, y: by, width: max(length, 1), height: lineHeight - 3, color)
            canvas.text(String(format: "%.2f", bar.value), x: left + 44 + barWidth, y: by, text)
            by += lineHeight
        }
        return canvas
    }

    /// A translucent box listing `lines` over the middle of `canvas` (the help overlay).
    public static func overlay(_ lines: [String], on canvas: inout Canvas) {
        let width = (lines.map(\.count).max() ?? 0) * 6 + 16, height = lines.count * lineHeight + 12
        let x = max(0, (canvas.width - width) / 2), y = max(0, (canvas.height - height) / 2)
        canvas.fillRect(x: x, y: y, width: width, height: height, Color(0, 0, 0, 200))
        for (k, string) in lines.enumerated() { canvas.text(string, x: x + 8, y: y + 6 + k * lineHeight, .white) }
    }
}
