import Foundation
import Sim

/// What a grid cell holds.
public enum GridCell: UInt8, Sendable, CaseIterable {
    case floor, wall, goal, lava, key, lockedDoor, openDoor
    /// The memory task: the cue shown near the start (A or B) and the two choices at the fork.
    case cueA, cueB, choiceA, choiceB

    /// Whether the agent can never enter it.
    var blocksMovement: Bool { self == .wall || self == .cueA || self == .cueB }
    /// Whether it hides what lies behind it in the partial view.
    var isOpaque: Bool { self == .wall || self == .lockedDoor }
}

/// A grid layout: cells row-major from the top-left, and the agent's start.
public struct GridMap: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var cells: [GridCell]
    public var start: (x: Int, y: Int)

    public static func == (a: GridMap, b: GridMap) -> Bool {
        a.width == b.width && a.height == b.height && a.cells == b.cells && a.start == b.start
    }

    public subscript(x: Int, y: Int) -> GridCell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// The characters of the text format.
    public static let legend: [Character: GridCell] = [
        "#": .wall, ".": .floor, "S": .floor, "G": .goal, "L": .lava, "K": .key, "D": .lockedDoor,
    ]

    /// Largest width and height of a map, in cells (checked before the cells are allocated).
    public static let maximumSide = 256

    /// Parses the text format: `#` wall, `.` floor, `S` start, `G` goal, `L` lava, `K` key, `D` locked door;
    /// lines starting with `;` are comments; blank lines are skipped; `\n`, `\r\n` or `\r` line ends and a leading
    /// byte-order mark are accepted. Exactly one `S`, at least one `G`, rows of equal length, at most
    /// ``maximumSide`` cells a side, and a goal reachable from the start (picking up keys on the way). `file` labels
    /// errors, which never quote the map's contents.
    public static func parse(_ text: String, file: String) throws -> GridMap {
        var body = Substring(text)
        if body.unicodeScalars.first == "\u{FEFF}" { body = Substring(body.unicodeScalars.dropFirst()) }
        var rows: [(line: Int, text: [Character])] = []
        let lines = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        for (index, content) in lines.enumerated() {
            if content.hasPrefix(";") || content.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let width = content.count
            guard width <= maximumSide else {
                throw GridMapError(file: file, line: index + 1, column: maximumSide + 1,
                                   message: "the map is \(width) cells wide, the most is \(maximumSide)", fix: "draw a smaller map")
            }
            guard rows.count < maximumSide else {
                throw GridMapError(file: file, line: index + 1, column: 1,
                                   message: "the map has more than \(maximumSide) rows", fix: "draw a smaller map")
            }
            rows.append((index + 1, Array(content)))
        }
        guard let first = rows.first else {
            throw GridMapError(file: file, line: 1, column: 1, message: "the map is empty", fix: "draw the grid with # . S G")
        }
        let width = first.text.count
        var cells: [GridCell] = []
        var start: (x: Int, y: Int)?
        for (y, row) in rows.enumerated() {
            guard row.text.count == width else {
                throw GridMapError(file: file, line: row.line, column: min(row.text.count, width) + 1,
                                   message: "this row has \(row.text.count) cells, the first has \(width)",
                                   fix: "make every row the same length (pad with #)")
            }
            for (x, character) in row.text.enumerated() {
                guard let cell = legend[character] else {
                    throw GridMapError(file: file, line: row.line, column: x + 1, message: "a character that is not part of the map format",
                                       fix: "use # wall, . floor, S start, G goal, L lava, K key, D door")
                }
                if character == "S" {
                    if start != nil {
                        throw GridMapError(file: file, line: row.line, column: x + 1, message: "a second start 'S'",
                                           fix: "keep exactly one S")
                    }
                    start = (x, y)
                }
                cells.append(cell)
            }
        }
        guard let start else {
            throw GridMapError(file: file, line: rows[0].line, column: 1, message: "no start 'S'", fix: "mark the agent's start with S")
        }
        let map = GridMap(width: width, height: rows.count, cells: cells, start: start)
        guard map.cells.contains(.goal) else {
            throw GridMapError(file: file, line: rows[0].line, column: 1, message: "no goal 'G'", fix: "mark a goal with G")
        }
        guard map.shortestPath() != nil else {
            throw GridMapError(file: file, line: rows[start.y].line, column: start.x + 1,
                               message: "no goal can be reached from the start (walls, lava or doors without a key block every path)",
                               fix: "open a path, or add a key K before the door D")
        }
        return map
    }

    /// The displacement of each action: 0 up, 1 down, 2 left, 3 right. A switch, not a shared array, so stepping
    /// copies on several threads touches no shared reference count.
    @inline(__always)
    public static func move(_ action: Int) -> (dx: Int, dy: Int) {
        switch action {
        case 0: return (0, -1)
        case 1: return (0, 1)
        case 2: return (-1, 0)
        default: return (1, 0)
        }
    }

    /// The floor cells (row-major indices) from which a goal, or the choice matching `cue` in the memory task, can
    /// be reached: the cells from which ``shortestPath(cue:)`` finds a path, found by one breadth-first search
    /// backward from the targets over (position, holding a key) instead of one search per cell. O(cells).
    public func startCandidates(cue: GridCell? = nil) -> [Int] {
        let target: GridCell = cue == .cueA ? .choiceA : (cue == .cueB ? .choiceB : .goal)
        let count = width * height
        // reaches[2 · cell + key]: from this position, holding (1) or not holding (0) a key, a target can be reached.
        var reaches = [Bool](repeating: false, count: count * 2), queue: [Int] = [], head = 0
        for i in 0..<count where cells[i] == target {
            reaches[2 * i] = true; reaches[2 * i + 1] = true
            queue += [2 * i, 2 * i + 1]
        }
        while head < queue.count {
            let state = queue[head]; head += 1
            let position = state / 2, key = state % 2 == 1, cell = cells[position]
            let (x, y) = (position % width, position / width)
            // Which key states before the move lead to `key` after entering this cell, and may enter it.
            for keyBefore in [false, true] where (keyBefore || cell == .key) == key {
                if cell.blocksMovement || cell == .lava || (cell == .lockedDoor && !keyBefore) { continue }
                for action in 0..<4 {
                    let move = Self.move(action)
                    let px = x - move.dx, py = y - move.dy
                    guard px >= 0, py >= 0, px < width, py < height else { continue }
                    let previous = py * width + px
                    if [.goal, .choiceA, .choiceB].contains(cells[previous]) { continue }  // episodes end there
                    let before = 2 * previous + (keyBefore ? 1 : 0)
                    if !reaches[before] { reaches[before] = true; queue.append(before) }
                }
            }
        }
        return (0..<count).filter { cells[$0] == .floor && reaches[2 * $0] }
    }

    /// The shortest action sequence from the start to a goal, or to the choice matching `cue` in the memory task,
    /// by breadth-first search over (position, holding a key), never entering lava. Doors open for a key holder.
    public func shortestPath(cue: GridCell? = nil) -> [Int]? {
        let target: GridCell = cue == .cueA ? .choiceA : (cue == .cueB ? .choiceB : .goal)
        let stateCount = width * height * 2
        var previous = [Int](repeating: -1, count: stateCount), previousAction = [Int](repeating: -1, count: stateCount)
        let startState = (start.y * width + start.x) * 2
        previous[startState] = startState
        var queue = [startState], head = 0
        while head < queue.count {
            let state = queue[head]; head += 1
            let position = state / 2, hasKey = state % 2 == 1
            let (x, y) = (position % width, position / width)
            if state != startState {
                if self[x, y] == target {
                    var actions: [Int] = []
                    var s = state
                    while s != startState { actions.append(previousAction[s]); s = previous[s] }
                    return actions.reversed()
                }
                if [.goal, .choiceA, .choiceB].contains(self[x, y]) { continue }  // episodes end there
            }
            for action in 0..<4 {
                let move = Self.move(action)
                let nx = x + move.dx, ny = y + move.dy
                guard nx >= 0, ny >= 0, nx < width, ny < height else { continue }
                let cell = self[nx, ny]
                if cell.blocksMovement || cell == .lava || (cell == .lockedDoor && !hasKey) { continue }
                let next = (ny * width + nx) * 2 + ((hasKey || cell == .key) ? 1 : 0)
                if previous[next] == -1 {
                    previous[next] = state
                    previousAction[next] = action
                    queue.append(next)
                }
            }
        }
        return nil
    }
}

/// A malformed map: where (file, line, column), what, and how to fix it.
public struct GridMapError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String
    public let fix: String
    public var description: String { "\(quotedForMessage(file, limit: 400)):\(line):\(column): \(message); \(fix)." }
}

/// The built-in layouts.
public enum BuiltInGridMaps {
    public static let names = ["empty", "four-rooms", "key-door", "lava-crossing", "maze", "memory"]

    /// MiniGrid's Empty-8x8 shape: an open room, start top-left, goal bottom-right.
    static let empty = """
        ########
        #S.....#
        #......#
        #......#
        #......#
        #......#
        #.....G#
        ########
        """

    /// Four 8×8 rooms joined by single doorways, in MiniGrid FourRooms' 19×19 frame.
    static let fourRooms = """
        ###################
        #S.......#........#
        #........#........#
        #........#........#
        #.................#
        #........#........#
        #........#........#
        #........#........#
        #........#........#
        ####.#########.####
        #........#........#
        #........#........#
        #........#........#
        #.................#
        #........#........#
        #........#........#
        #........#........#
        #........#.......G#
        ###################
        """

    /// The key opens the door to the goal's room.
    static let keyDoor = """
        ##########
        #S...#...#
        #....#...#
        #....D..G#
        #..K.#...#
        #....#...#
        ##########
        """

    /// A river of lava with one gap (MiniGrid LavaCrossingS9N1's shape).
    static let lavaCrossing = """
        #########
        #S......#
        #.......#
        #LLLL.LL#
        #.......#
        #.......#
        #.......#
        #......G#
        #########
        """

    static func text(_ name: String) -> String? {
        switch name {
        case "empty": return empty
        case "four-rooms": return fourRooms
        case "key-door": return keyDoor
        case "lava-crossing": return lavaCrossing
        default: return nil
        }
    }

    /// A perfect maze (recursive backtracker) of odd `size`, start top-left, goal bottom-right, from `rng`.
    static func maze(size: Int, using rng: inout SeededGenerator) -> GridMap {
        var map = GridMap(width: size, height: size, cells: [GridCell](repeating: .wall, count: size * size), start: (1, 1))
        var stack = [(1, 1)]
        map[1, 1] = .floor
        while let (x, y) = stack.last {
            var options: [(Int, Int)] = []
            for (dx, dy) in [(0, -2), (0, 2), (-2, 0), (2, 0)] {
                let nx = x + dx, ny = y + dy
                if nx > 0, ny > 0, nx < size - 1, ny < size - 1, map[nx, ny] == .wall { options.append((nx, ny)) }
            }
            if options.isEmpty { stack.removeLast(); continue }
            let (nx, ny) = options[rng.nextInt(below: options.count)]
            map[(x + nx) / 2, (y + ny) / 2] = .floor
            map[nx, ny] = .floor
            stack.append((nx, ny))
        }
        map[size - 2, size - 2] = .goal
        return map
    }

    /// The memory task: a cue (A or B) beside the start, a corridor, and a fork with both choices, the top one
    /// drawn at random. Width `size`; the cue is out of a 7×7 view at the fork when size ≥ 9.
    static func memory(size: Int, using rng: inout SeededGenerator) -> (map: GridMap, cue: GridCell) {
        let height = 5
        var map = GridMap(width: size, height: height, cells: [GridCell](repeating: .wall, count: size * height), start: (2, 2))
        for x in 2...(size - 2) { map[x, 2] = .floor }
        let cue: GridCell = rng.nextInt(below: 2) == 0 ? .cueA : .cueB
        map[1, 2] = cue
        let aOnTop = rng.nextInt(below: 2) == 0
        map[size - 2, 1] = aOnTop ? .choiceA : .choiceB
        map[size - 2, 3] = aOnTop ? .choiceB : .choiceA
        return (map, cue)
    }
}
