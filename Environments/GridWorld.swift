import Foundation
import Sim

/// A MiniGrid-like gridworld: walls, a goal, lava, keys and locked doors, seeded random mazes and a memory task.
///
/// ## Description
/// The agent moves on a grid toward a goal. Stepping onto a key picks it up; walking into a locked door while
/// holding a key opens it. Lava ends the episode without reward. Maps come from text files (`map=path.txt`, format
/// in ``GridMap/parse(_:file:)``) or are built in: `empty`, `four-rooms`, `key-door`, `lava-crossing`, `maze` (a new
/// seeded maze every episode) and `memory` (a cue beside the start names which of two objects at a fork to reach).
///
/// ## Action space: `Discrete(4)`
/// 0 up, 1 down, 2 left, 3 right. With `slip=p`, each action is replaced by a uniformly random one with probability p.
///
/// ## Observation space: `Box(0, 1)`
/// One-hot planes, channel-major, followed by one "holding a key" flag:
/// - `observation=full`: 12 planes over the whole H × W grid;
/// - `observation=partial`: 12 planes over a `view` × `view` window centred on the agent; cells hidden behind walls or
///   closed doors (straight line of sight) and cells off the map are marked in the `unseen` plane.
/// Planes: wall, goal, lava, key, locked door, open door, cue A, cue B, choice A, choice B, agent (full view),
/// unseen (partial view). Floor is all zeros.
///
/// With `encoding=codes` the same observation comes compact, as MiniGrid's uint8 images: one code per cell (plane
/// index + 1, 0 for floor, + 16 where the agent stands; ``CellCodes``) then the key flag, `Box(0, 31)` of
/// cells + 1 values. Dojo's agents expand it to the planes above, so they learn the same either way.
///
/// ## Reward
/// Reaching the goal (or, in the memory task, the choice matching the cue): `1 − 0.9 · steps / max_steps`.
/// Anything else: 0.
///
/// ## Starting state
/// The map's start. Built-in random maps (maze, memory) are drawn from the seeded generator at each reset.
///
/// ## Episode end
/// Terminated at the goal, in lava, or at either choice of the memory task; truncated after `max_steps`
/// (default 4 × width × height).
public final class GridWorld: Environment {
    public static let channels = ["wall", "goal", "lava", "key", "locked_door", "open_door", "cue_a", "cue_b",
                                  "choice_a", "choice_b", "agent", "unseen"]
    static let agentChannel = 10, unseenChannel = 11

    public static let optionSpecs: [OptionSpec] = [
        OptionSpec("map", .path, default: "four-rooms",
                   "built-in map (\(BuiltInGridMaps.names.joined(separator: ", "))) or a path to a text map",
                   builtIn: BuiltInGridMaps.names),
        OptionSpec("size", .integer(7...99), default: "11", "side of maze maps and width of the memory task (odd for mazes)"),
        OptionSpec("maze_seed", .integer(0...Int(Int32.max)), default: "",
                   "maze: keep the one maze drawn from this seed (default: a new maze every episode)"),
        OptionSpec("observation", .choice(["auto", "full", "partial"]), default: "auto",
                   "full grid or egocentric partial view; auto: partial for memory, full otherwise"),
        OptionSpec("encoding", .choice(["one-hot", "codes"]), default: "one-hot",
                   "one-hot planes (float per cell and plane) or compact cell codes (one per cell, 0...31; agents expand them)"),
        OptionSpec("view", .integer(3...15), default: "7", "side of the partial view (odd)"),
        OptionSpec("slip", .real(0...1), default: "0", "probability that an action is replaced by a random one"),
        OptionSpec("random_start", .boolean, default: "false", "start each episode on a random floor cell instead of S"),
        OptionSpec("max_steps", .integer(0...1_000_000), default: "0", "time limit; 0 means 4 × width × height"),
    ]

    /// The registry id.
    public static let id = "gridworld"
    public var id: String { Self.id }
    public let options: ResolvedOptions
    public let mapName: String
    /// Whether the layout is drawn anew at each reset (mazes without `maze_seed`, the memory task).
    public let regeneratesLayout: Bool
    public let partialView: Bool
    public let viewSize: Int
    public let slipProbability: Float
    public let randomStart: Bool
    private var startCandidates: [Int]?
    public let width: Int, height: Int
    public let maxSteps: Int
    /// Floats in an observation (planes, or one code per cell, plus the key flag).
    public let observationCount: Int
    /// The compact layout when `encoding=codes`, else nil.
    public let cellCodes: CellCodes?

    /// The map loaded from a file or built in (random maps: the last one drawn).
    public private(set) var layout: GridMap
    public private(set) var agent: (x: Int, y: Int) = (0, 0)
    public private(set) var hasKey = false
    public private(set) var steps = 0
    public private(set) var cue: GridCell?
    public private(set) var succeeded = false
    /// Where the current episode started (the map's S, or a random cell with `random_start`).
    public private(set) var episodeStart: (x: Int, y: Int) = (0, 0)
    /// The live cells (width × height, row-major), in a buffer the environment owns: the step loop touches no
    /// reference-counted storage.
    private let cells: UnsafeMutablePointer<GridCell>
    private var rng = SeededGenerator(seed: 0)
    /// ``optimalReturn`` of this episode, once searched (the start and the map are fixed within an episode).
    private var cachedOptimalReturn: Double?
    /// Lines of sight for the partial view: for view cell k (row-major), the grid offsets that must be clear are
    /// `sightOffsets[sightStarts[k] ..< sightStarts[k + 1]]`, each stored as dy · width + dx.
    private let sightStarts: UnsafeMutablePointer<Int>
    private let sightOffsets: UnsafeMutablePointer<Int>
    /// Which view cells are visible from each grid position, computed on first use: `visibilityWords` bits per
    /// position (bit k: view cell k is on the map and in line of sight). Cleared when walls or doors change.
    private let visibility: UnsafeMutablePointer<UInt64>
    private let visibilityKnown: UnsafeMutablePointer<Bool>
    private let visibilityWords: Int
    /// Grid offset (dy · width + dx) of each view cell from the agent.
    private let viewOffsets: UnsafeMutablePointer<Int>

    public init(options given: [String: String] = [:]) throws {
        options = try ResolvedOptions(given, specs: Self.optionSpecs, environment: "gridworld")
        mapName = options.string("map")!
        let size = options.int("size")
        switch mapName {
        case "maze":
            guard size % 2 == 1 else {
                throw OptionError.invalidValue(environment: "gridworld", name: "size", value: "\(size)", problem: "mazes need an odd size")
            }
            var probe = SeededGenerator(seed: options.string("maze_seed").flatMap { UInt64($0) } ?? 0, stream: 17)
            layout = BuiltInGridMaps.maze(size: size, using: &probe)
        case "memory":
            var probe = SeededGenerator(seed: 0)
            layout = BuiltInGridMaps.memory(size: size, using: &probe).map
        default:
            if let text = BuiltInGridMaps.text(mapName) {
                layout = try GridMap.parse(text, file: "built-in map \(mapName)")
            } else {
                layout = try GridMap.parse(try Self.readMapFile(mapName), file: mapName)
            }
        }
        regeneratesLayout = mapName == "memory" || (mapName == "maze" && options.string("maze_seed") == nil)
        let mode = options.string("observation")!
        partialView = mode == "partial" || (mode == "auto" && mapName == "memory")
        viewSize = options.int("view")
        guard viewSize % 2 == 1 else {
            throw OptionError.invalidValue(environment: "gridworld", name: "view", value: "\(viewSize)", problem: "the view needs an odd side")
        }
        slipProbability = Float(options.double("slip"))
        randomStart = options.bool("random_start")
        width = layout.width
        height = layout.height
        maxSteps = options.int("max_steps") == 0 ? 4 * width * height : options.int("max_steps")
        cells = .allocate(capacity: layout.cells.count)
        cells.initialize(from: layout.cells, count: layout.cells.count)
        let lines = Self.sightLines(viewSize: viewSize)
        sightStarts = .allocate(capacity: lines.count + 1)
        sightOffsets = .allocate(capacity: max(1, lines.reduce(0) { $0 + $1.count }))
        var cursor = 0
        for (k, line) in lines.enumerated() {
            sightStarts[k] = cursor
            for offset in line { sightOffsets[cursor] = offset.dy * layout.width + offset.dx; cursor += 1 }
        }
        sightStarts[lines.count] = cursor
        visibilityWords = (viewSize * viewSize + 63) / 64
        visibility = .allocate(capacity: layout.cells.count * visibilityWords)
        visibility.initialize(repeating: 0, count: layout.cells.count * visibilityWords)
        visibilityKnown = .allocate(capacity: layout.cells.count)
        visibilityKnown.initialize(repeating: false, count: layout.cells.count)
        viewOffsets = .allocate(capacity: viewSize * viewSize)
        for k in 0..<(viewSize * viewSize) {
            viewOffsets[k] = (k / viewSize - viewSize / 2) * layout.width + (k % viewSize - viewSize / 2)
        }
        let viewCells = partialView ? viewSize * viewSize : width * height
        cellCodes = options.string("encoding") == "codes"
            ? CellCodes(cells: viewCells, planes: Self.channels.count, markerPlane: Self.agentChannel, extras: 1) : nil
        observationCount = cellCodes?.count ?? Self.channels.count * viewCells + 1
    }

    /// Largest map file read, in bytes.
    public static let maximumMapFileSize = 1 << 20

    /// The text of the map file at `path`: a regular file of at most 1 MB, in UTF-8; errors never quote it.
    static func readMapFile(_ path: String) throws -> String {
        func refuse(_ problem: String) -> OptionError {
            .invalidValue(environment: "gridworld", name: "map", value: path, problem: problem)
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw refuse("not a built-in map (\(BuiltInGridMaps.names.joined(separator: ", "))) and not a readable file")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { throw refuse("not a regular file; give a text map file") }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maximumMapFileSize else {
            throw refuse("the file is \(size) bytes, more than the 1 MB a map file may have; draw a smaller map")
        }
        guard let handle = FileHandle(forReadingAtPath: path),
              let data = try? handle.read(upToCount: maximumMapFileSize + 1), data.count <= maximumMapFileSize else {
            throw refuse("the file cannot be read, or grew past 1 MB while it was read")
        }
        try? handle.close()
        guard let text = String(data: data, encoding: .utf8) else { throw refuse("the file is not UTF-8 text; save the map as plain text") }
        return text
    }

    deinit {
        cells.deallocate()
        sightStarts.deallocate()
        sightOffsets.deallocate()
        visibility.deallocate()
        visibilityKnown.deallocate()
        viewOffsets.deallocate()
    }

    /// Cells strictly between the centre and each view cell on a straight (Bresenham) line.
    static func sightLines(viewSize: Int) -> [[(dx: Int, dy: Int)]] {
        let radius = viewSize / 2
        var lines: [[(dx: Int, dy: Int)]] = []
        for vy in -radius...radius {
            for vx in -radius...radius {
                var between: [(dx: Int, dy: Int)] = []
                let steps = max(abs(vx), abs(vy))
                if steps > 1 {
                    for s in 1..<steps {
                        let fx = Double(vx) * Double(s) / Double(steps), fy = Double(vy) * Double(s) / Double(steps)
                        between.append((Int(fx.rounded()), Int(fy.rounded())))
                    }
                }
                lines.append(between)
            }
        }
        return lines
    }

    public var observationSpace: Space {
        guard let cellCodes else { return .box(low: 0, high: 1, shape: [observationCount]) }
        return .box(low: [Float](repeating: 0, count: observationCount),
                    high: [Float](repeating: Float(CellCodes.maximumCode), count: cellCodes.cells) + [1], shape: [observationCount])
    }
    /// One-hot planes and a has-key flag (every value 0 or 1), or their cell codes.
    public var observationKind: ObservationKind { cellCodes.map { .cellCodes($0) } ?? .binary }
    public var actionSpace: Space { .discrete(4) }

    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) {
        if let seed { rng = SeededGenerator(seed: seed) }
        cachedOptimalReturn = nil
        switch regeneratesLayout ? mapName : "" {
        case "maze": layout = BuiltInGridMaps.maze(size: width, using: &rng)
        case "memory":
            let drawn = BuiltInGridMaps.memory(size: width, using: &rng)
            layout = drawn.map
            cue = drawn.cue
        default: break
        }
        var changed = false
        for i in 0..<(width * height) where cells[i] != layout.cells[i] { changed = true }
        if changed {
            cells.update(from: layout.cells, count: layout.cells.count)
            visibilityKnown.update(repeating: false, count: layout.cells.count)  // walls or doors changed
        }
        agent = layout.start
        if randomStart {
            // Uniform over floor cells from which a goal can be reached (computed once for fixed maps).
            if startCandidates == nil || regeneratesLayout { startCandidates = layout.startCandidates(cue: cue) }
            let candidates = startCandidates!
            if !candidates.isEmpty {
                let pick = candidates[rng.nextInt(below: candidates.count)]
                agent = (pick % width, pick / width)
            }
        }
        episodeStart = agent
        hasKey = false
        steps = 0
        succeeded = false
        writeObservation(observation)
    }

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        var move = Int(action[0])
        precondition(move >= 0 && move < 4, "gridworld: action must be 0...3, got \(action[0])")
        if slipProbability > 0 && rng.nextFloat() < slipProbability { move = rng.nextInt(below: 4) }
        steps += 1
        let delta = GridMap.move(move)
        let target = (x: agent.x + delta.dx, y: agent.y + delta.dy)
        var result = StepResult(reward: 0, terminated: false)
        if target.x >= 0, target.y >= 0, target.x < width, target.y < height {
            let index = target.y * width + target.x
            let cell = cells[index]
            switch cell {
            case .wall, .cueA, .cueB: break
            case .lockedDoor:
                if hasKey {
                    cells[index] = .openDoor
                    visibilityKnown.update(repeating: false, count: width * height)  // sight lines through it changed
                    agent = target
                }
            case .key:
                hasKey = true
                cells[index] = .floor
                agent = target
            case .lava:
                agent = target
                result.terminated = true
            case .goal:
                agent = target
                succeed(&result)
            case .choiceA, .choiceB:
                agent = target
                result.terminated = true
                if (cell == .choiceA && cue == .cueA) || (cell == .choiceB && cue == .cueB) { succeed(&result) }
            case .floor, .openDoor:
                agent = target
            }
        }
        writeObservation(observation)
        return result
    }

    private func succeed(_ result: inout StepResult) {
        result.terminated = true
        result.reward = 1 - 0.9 * Float(steps) / Float(maxSteps)
        succeeded = true
    }

    private func writeObservation(_ observation: UnsafeMutablePointer<Float>) {
        if cellCodes != nil { return writeCodes(observation) }
        let count = observationCount
        observation.update(repeating: 0, count: count)
        observation[count - 1] = hasKey ? 1 : 0
        if partialView {
            let plane = viewSize * viewSize, origin = agent.y &* width &+ agent.x
            let visible = visibleCells(from: origin)
            for slot in 0..<plane {
                if visible[slot >> 6] & (1 << UInt64(slot & 63)) == 0 {
                    observation[Self.unseenChannel &* plane &+ slot] = 1
                    continue
                }
                let cell = cells[origin &+ viewOffsets[slot]]
                if cell != .floor { observation[(Int(cell.rawValue) &- 1) &* plane &+ slot] = 1 }
            }
        } else {
            let plane = width * height
            for i in 0..<plane where cells[i] != .floor { observation[(Int(cells[i].rawValue) - 1) * plane + i] = 1 }
            observation[Self.agentChannel * plane + agent.y * width + agent.x] = 1
        }
    }

    /// The compact observation: one code per view cell (``CellCodes``), then the key flag.
    private func writeCodes(_ observation: UnsafeMutablePointer<Float>) {
        observation[observationCount - 1] = hasKey ? 1 : 0
        if partialView {
            let plane = viewSize * viewSize, origin = agent.y &* width &+ agent.x
            let visible = visibleCells(from: origin)
            for slot in 0..<plane {
                if visible[slot >> 6] & (1 << UInt64(slot & 63)) == 0 {
                    observation[slot] = Float(Self.unseenChannel + 1)
                } else {
                    observation[slot] = Float(cells[origin &+ viewOffsets[slot]].rawValue)  // floor 0, kind k is plane k − 1
                }
            }
        } else {
            for i in 0..<(width * height) { observation[i] = Float(cells[i].rawValue) }
            observation[agent.y * width + agent.x] += Float(CellCodes.markerBit)
        }
    }

    /// The visibility bits of the view from grid position `origin` (computed and cached on first use).
    private func visibleCells(from origin: Int) -> UnsafeMutablePointer<UInt64> {
        let bits = visibility + origin * visibilityWords
        if visibilityKnown[origin] { return bits }
        bits.update(repeating: 0, count: visibilityWords)
        let radius = viewSize / 2, ax = origin % width, ay = origin / width
        for slot in 0..<(viewSize * viewSize) {
            let x = ax + slot % viewSize - radius, y = ay + slot / viewSize - radius
            guard x >= 0, y >= 0, x < width, y < height else { continue }
            var blocked = false
            for k in sightStarts[slot]..<sightStarts[slot + 1] where cells[origin + sightOffsets[k]].isOpaque { blocked = true }
            if !blocked { bits[slot >> 6] |= 1 << UInt64(slot & 63) }
        }
        visibilityKnown[origin] = true
        return bits
    }

    public var stateChecksum: UInt64 {
        var hasher = StateHasher()
        hasher.combine(agent.x); hasher.combine(agent.y); hasher.combine(hasKey); hasher.combine(steps)
        hasher.combine(Int(cue?.rawValue ?? 255)); hasher.combine(succeeded)
        for i in 0..<(width * height) { hasher.combine(Int(cells[i].rawValue)) }
        hasher.combine(rng)
        return hasher.value
    }

    public func saveState() -> [UInt64] {
        var words = [agent.x.stateWord, agent.y.stateWord, hasKey.stateWord, steps.stateWord,
                     UInt64(cue?.rawValue ?? 255), succeeded.stateWord] + rng.stateWords
        words += (0..<(width * height)).map { UInt64(cells[$0].rawValue) }
        words += [layout.start.x.stateWord, layout.start.y.stateWord] + layout.cells.map { UInt64($0.rawValue) }
        words += [episodeStart.x.stateWord, episodeStart.y.stateWord]
        return words
    }

    public func restoreState(_ words: [UInt64]) throws {
        var reader = StateReader(words, environment: id)
        let position = (x: try reader.int(), y: try reader.int())
        let key = try reader.bool(), stepCount = try reader.count(), cueCode = try reader.word(), success = try reader.bool()
        let generator = try reader.generator()
        func cellList() throws -> [GridCell] {
            try (0..<(width * height)).map { _ in
                let code = try reader.word()
                guard code <= UInt64(UInt8.max), let cell = GridCell(rawValue: UInt8(code)) else {
                    throw SimulationError(environment: id, message: "saved state has an unknown cell code \(code)")
                }
                return cell
            }
        }
        let live = try cellList()
        let start = (x: try reader.int(), y: try reader.int())
        let layoutCells = try cellList()
        let startedAt = (x: try reader.int(), y: try reader.int())
        try reader.finish()
        cachedOptimalReturn = nil
        for (name, point) in [("agent position", position), ("map start", start), ("episode start", startedAt)] {
            guard (0..<width).contains(point.x), (0..<height).contains(point.y) else {
                throw SimulationError(environment: id, message: "saved \(name) \(point) is off the \(width)×\(height) map")
            }
        }
        let savedCue: GridCell?
        if cueCode == 255 { savedCue = nil } else {
            guard cueCode < 255, let cell = GridCell(rawValue: UInt8(cueCode)) else {
                throw SimulationError(environment: id, message: "saved cue code \(cueCode) is not a cell")
            }
            savedCue = cell
        }
        agent = position
        hasKey = key
        steps = stepCount
        cue = savedCue
        succeeded = success
        rng = generator
        cells.update(from: live, count: live.count)
        layout = GridMap(width: width, height: height, cells: layoutCells, start: start)
        episodeStart = startedAt
        visibilityKnown.update(repeating: false, count: width * height)
    }

    public var infoKeys: [String] { ["success", "has_key", "x", "y", "optimal_return"] }

    public func writeInfo(into values: UnsafeMutablePointer<Double>) {
        (values[0], values[1], values[2], values[3]) = (succeeded ? 1 : 0, hasKey ? 1 : 0, Double(agent.x), Double(agent.y))
        values[4] = optimalReturn
    }

    /// The best return reachable from this episode's start: 1 − 0.9 · (shortest path) / max_steps, by breadth-first
    /// search over position and key (0 if nothing is reachable). Searched once an episode, at the first request.
    public var optimalReturn: Double {
        if let cachedOptimalReturn { return cachedOptimalReturn }
        let value = searchOptimalReturn()
        cachedOptimalReturn = value
        return value
    }

    private func searchOptimalReturn() -> Double {
        var map = layout
        map.start = episodeStart
        guard let path = map.shortestPath(cue: cue) else { return 0 }
        return Double(1 - 0.9 * Float(path.count) / Float(maxSteps))
    }

    /// The map as currently seen (doors opened, keys taken), for solvers and displays.
    public var currentMap: GridMap {
        GridMap(width: width, height: height, cells: Array(UnsafeBufferPointer(start: cells, count: width * height)), start: agent)
    }

    /// Pixels a cell side: 24, less for maps so big that 24 would pass ``Canvas/maximumSide``.
    var tile: Int { min(24, max(1, Canvas.maximumSide / max(width, height))) }
    public var renderSize: (width: Int, height: Int) { (width * tile, height * tile) }

    /// Arrow keys move; 6 moves a second are easy to follow. Evaluations report the success rate and the best
    /// reachable return of each start (breadth-first search).
    public var metadata: EnvironmentMetadata {
        EnvironmentMetadata(actionNames: ["UP", "DOWN", "LEFT", "RIGHT"],
                            keyboard: [KeyBinding(.up, 0, "move up"), KeyBinding(.down, 1, "move down"),
                                       KeyBinding(.left, 2, "move left"), KeyBinding(.right, 3, "move right")],
                            renderFPS: 6,
                            metrics: [EvaluationMetric("success_rate", info: "success", .atEnd, unit: "%", label: "success"),
                                      EvaluationMetric("optimal_return", info: "optimal_return", .atStart, unit: "",
                                                       label: "optimal return")])
    }

    public func render(into canvas: inout Canvas) {
        let t = tile
        canvas.fill(.black)
        for y in 0..<height {
            for x in 0..<width {
                let px = x * t, py = y * t
                switch cells[y * width + x] {
                case .floor: canvas.strokeRect(x: px, y: py, width: t, height: t, Color(40, 40, 40))
                case .wall: canvas.fillRect(x: px, y: py, width: t, height: t, Color(100, 100, 100))
                case .goal: canvas.fillRect(x: px + 1, y: py + 1, width: t - 2, height: t - 2, .green)
                case .lava: canvas.fillRect(x: px, y: py, width: t, height: t, .orange)
                case .key:
                    canvas.fillCircle(centerX: Double(px) + 8, centerY: Double(py) + Double(t) / 2, radius: 5, .yellow)
                    canvas.fillRect(x: px + 11, y: py + t / 2 - 1, width: 9, height: 3, .yellow)
                case .lockedDoor: canvas.fillRect(x: px + 1, y: py + 1, width: t - 2, height: t - 2, .yellow)
                    canvas.fillRect(x: px + t / 2 - 2, y: py + t / 2 - 2, width: 4, height: 4, .black)
                case .openDoor: canvas.strokeRect(x: px + 1, y: py + 1, width: t - 2, height: t - 2, thickness: 2, .yellow)
                case .cueA, .choiceA: canvas.fillCircle(centerX: Double(px) + Double(t) / 2, centerY: Double(py) + Double(t) / 2, radius: 9, .blue)
                    canvas.text("A", x: px + t / 2 - 2, y: py + t / 2 - 3, .white)
                case .cueB, .choiceB: canvas.fillCircle(centerX: Double(px) + Double(t) / 2, centerY: Double(py) + Double(t) / 2, radius: 9, .purple)
                    canvas.text("B", x: px + t / 2 - 2, y: py + t / 2 - 3, .white)
                }
            }
        }
        if partialView {
            let radius = viewSize / 2
            canvas.fillRect(x: (agent.x - radius) * t, y: (agent.y - radius) * t, width: viewSize * t, height: viewSize * t,
                            Color.white.withAlpha(40))
        }
        let ax = Double(agent.x * t) + Double(t) / 2, ay = Double(agent.y * t) + Double(t) / 2
        canvas.fillPolygon([(ax, ay - 9), (ax + 8, ay + 7), (ax - 8, ay + 7)], .red)
        if hasKey { canvas.fillCircle(centerX: ax, centerY: ay + 2, radius: 3, .yellow) }
    }
}
