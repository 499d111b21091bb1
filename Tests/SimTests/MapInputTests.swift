import Environments
import Foundation
import Sim
import Testing

/// Map files from outside: line endings and byte-order marks of other editors, control characters, huge sides,
/// and the cost of random starts and renders on big maps.
@Suite struct MapInputTests {
    let room = "#####\n#S.G#\n#####\n"

    func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).txt").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func parseError(_ text: String, file: String = "m.txt") -> String? {
        do { _ = try GridMap.parse(text, file: file); return nil } catch { return "\(error)" }
    }

    @Test("Windows line endings and a UTF-8 byte-order mark load like plain text")
    func lineEndingsAndMark() throws {
        let plain = try GridMap.parse(room, file: "m.txt")
        #expect(try GridMap.parse(room.replacingOccurrences(of: "\n", with: "\r\n"), file: "m.txt") == plain)
        #expect(try GridMap.parse("\u{FEFF}" + room, file: "m.txt") == plain)
        #expect(try GridMap.parse("\u{FEFF}; a comment\r\n" + room.replacingOccurrences(of: "\n", with: "\r\n"), file: "m.txt") == plain)
        // From a file, through the environment.
        let path = try temporaryFile("\u{FEFF}" + room.replacingOccurrences(of: "\n", with: "\r\n"))
        let env = try GridWorld(options: ["map": path])
        #expect(env.layout == plain)
    }

    @Test("Errors escape control characters and never echo map contents")
    func escapedErrors() throws {
        #expect(parseError("#####\n#S\u{7}G#\n#####\n") == "m.txt:2:3: a character that is not part of the map format; use # wall, . floor, S start, G goal, L lava, K key, D door.")
        #expect(parseError("#####\n#S.G#\n####\n", file: "bad\u{1B}[31m\n.txt") == "bad\\u{1B}[31m\\n.txt:3:5: this row has 4 cells, the first has 5; make every row the same length (pad with #).")
        do { _ = try GridWorld(options: ["map": "no\u{1B}such\nmap"]); Issue.record("loaded") } catch {
            #expect(!"\(error)".contains("\u{1B}") && !"\(error)".contains("\n"), "\(error)")
            #expect("\(error)".contains("no\\u{1B}such\\nmap"), "\(error)")
        }
    }

    @Test("Map sides are capped before anything is allocated, with a message naming the cap")
    func sideCap() throws {
        let side = GridMap.maximumSide
        #expect(side == 256)
        #expect(parseError(String(repeating: "#", count: 100_000)) == "m.txt:1:257: the map is 100000 cells wide, the most is 256; draw a smaller map.")
        #expect(parseError(String(repeating: "#\n", count: 100_000)) == "m.txt:257:1: the map has more than 256 rows; draw a smaller map.")
        let big = try temporaryFile(String(repeating: "#", count: 2_000_000))
        do { _ = try GridWorld(options: ["map": big]); Issue.record("a 2 MB map loaded") } catch {
            #expect("\(error)".contains("is 2000000 bytes, more than the 1 MB a map file may have"), "\(error)")
        }
        // The largest map allowed still loads.
        var rows = [String(repeating: "#", count: side)]
        rows += (0..<(side - 2)).map { _ in "#" + String(repeating: ".", count: side - 2) + "#" }
        rows.append(String(repeating: "#", count: side))
        rows[1] = "#S" + rows[1].dropFirst(2)
        rows[side - 2] = String(rows[side - 2].dropLast(2)) + "G#"
        #expect(try GridMap.parse(rows.joined(separator: "\n"), file: "m.txt").width == side)
    }

    /// The quadratic definition: floor cells from which a breadth-first search reaches a goal.
    func naiveStartCandidates(_ map: GridMap, cue: GridCell?) -> [Int] {
        (0..<(map.width * map.height)).filter { i in
            var probe = map
            probe.start = (i % map.width, i / map.width)
            return map.cells[i] == .floor && probe.shortestPath(cue: cue) != nil
        }
    }

    @Test("Random-start candidates (one backward search) equal the one-search-per-cell definition",
          arguments: ["empty", "four-rooms", "key-door", "lava-crossing", "maze", "memory", "custom"])
    func startCandidates(map name: String) throws {
        if name == "custom" {
            // Cells behind the door reach the goal only with a key; the pocket right of the lava reaches nothing.
            let map = try GridMap.parse("""
                #########
                #S..#..G#
                #.K.D...#
                ###L#####
                #.#.....#
                #########
                """, file: "m.txt")
            #expect(map.startCandidates(cue: nil) == naiveStartCandidates(map, cue: nil))
            return
        }
        let env = try GridWorld(options: ["map": name, "random_start": "true"])
        for seed: UInt64 in 0..<3 {
            _ = env.reset(seed: seed)
            #expect(env.layout.startCandidates(cue: env.cue) == naiveStartCandidates(env.layout, cue: env.cue))
        }
    }

    @Test("random_start on a 200×200 map resets in linear time")
    func randomStartIsLinear() throws {
        var rows = [String(repeating: "#", count: 200)]
        rows += (0..<198).map { _ in "#" + String(repeating: ".", count: 198) + "#" }
        rows.append(String(repeating: "#", count: 200))
        rows[1] = "#S" + rows[1].dropFirst(2)
        rows[198] = String(rows[198].dropLast(2)) + "G#"
        let path = try temporaryFile(rows.joined(separator: "\n"))
        let env = try GridWorld(options: ["map": path, "random_start": "true"])
        let clock = ContinuousClock()
        let elapsed = clock.measure { for seed: UInt64 in 0..<5 { _ = env.reset(seed: seed) } }
        #expect(elapsed < .seconds(2), "\(elapsed)")  // 37 s with one search per cell
    }

    @Test("Renders of big maps stay within the canvas cap; small maps keep 24-pixel tiles")
    func renderSize() throws {
        #expect(try GridWorld(options: ["map": "four-rooms"]).renderSize == (19 * 24, 19 * 24))
        let side = GridMap.maximumSide
        var rows = [String(repeating: "#", count: side)]
        rows += (0..<(side - 2)).map { _ in "#" + String(repeating: ".", count: side - 2) + "#" }
        rows.append(String(repeating: "#", count: side))
        rows[1] = "#S" + rows[1].dropFirst(2)
        rows[side - 2] = String(rows[side - 2].dropLast(2)) + "G#"
        let env = try GridWorld(options: ["map": try temporaryFile(rows.joined(separator: "\n"))])
        let size = env.renderSize
        #expect(size.width <= Canvas.maximumSide && size.height <= Canvas.maximumSide, "\(size)")
        #expect(Canvas.sizeProblem(width: size.width, height: size.height) == nil)
        #expect(Canvas.sizeProblem(width: 24_000, height: 24_000) == "a 24000×24000 frame is larger than the 4096×4096 pixels a render may have")
        #expect(Canvas.sizeProblem(width: 0, height: 10) != nil)
    }
}
