import Foundation
import Sim
#if SDL
import CSDL2
#endif

/// What a person asked for with a key (or the window's close button).
public enum Command: Equatable, Sendable {
    case quit, togglePause, singleStep, faster, slower, restart, seekForward, seekBack, jumpStart, jumpEnd
    case screenshot, toggleHelp
    /// An environment action chosen from the keyboard mapping (keyboard play).
    case action(Int)
}

/// The controls, as the help overlay lists them.
public let controlsHelp = [
    "SPACE pause/resume    . single step",
    "+ / - faster/slower   R restart",
    "RIGHT/LEFT seek (replays)   HOME/END start/end",
    "S screenshot (PNG)    H help    Q/ESC quit",
]

/// Keyboard play: the environment's own key bindings (``EnvironmentMetadata/keyboard``) come first, then the
/// playback controls. Keys are ``Sim/Key``s, independent of SDL's key codes.
public enum KeyboardMapping {
    /// The keyboard-play keys of an environment, for the help overlay.
    public static func helpLines(for metadata: EnvironmentMetadata) -> [String] {
        metadata.keyboard.isEmpty ? ["NO KEYBOARD PLAY HERE"] : ["PLAY:"] + metadata.keyboardHelp.map { "  " + $0 }
    }

    public static func command(for key: Key, keyboard: [KeyBinding], playing: Bool) -> Command? {
        if playing, let binding = keyboard.first(where: { $0.key == key }) { return .action(binding.action) }
        switch key {
        case .space: return .togglePause
        case .escape, .character("q"): return .quit
        case .character("."): return .singleStep
        case .character("+"), .character("="): return .faster
        case .character("-"): return .slower
        case .character("r"): return .restart
        case .right: return .seekForward
        case .left: return .seekBack
        case .character("s"): return .screenshot
        case .character("h"): return .toggleHelp
        case .character("<"): return .jumpStart
        case .character(">"): return .jumpEnd
        default: return nil
        }
    }
}

public enum WindowError: Error, CustomStringConvertible {
    case notCompiled
    case noDisplay(String)
    public var description: String {
        switch self {
        case .notCompiled:
            return "this dojo was built without the SDL2 window (--disable-default-traits); rebuild with libsdl2-dev installed, or use --headless --frames DIR / --video FILE"
        case .noDisplay(let reason):
            return "cannot open a window (\(reason)); run with --headless --frames DIR or --video FILE.mp4"
        }
    }
}

#if SDL
/// An SDL2 window showing Canvas frames with crisp integer scaling (nearest neighbour), resizable. Reads events
/// into ``Key``s and can read its pixels back (for tests).
public final class Window {
    private let window: OpaquePointer
    private let renderer: OpaquePointer
    private var texture: OpaquePointer?
    private var textureSize = (width: 0, height: 0)
    public private(set) var lastFrame: Canvas?

    /// Opens a window; throws ``WindowError/noDisplay`` when no video driver works, or when SDL could only fall back
    /// to a driver that shows nothing (`offscreen`, `dummy`) without the user asking for it with `SDL_VIDEODRIVER`:
    /// a window nobody can see would play in real time for nothing.
    public init(title: String, width: Int, height: Int, scale: Int = 1) throws {
        guard SDL_Init(SDL_INIT_VIDEO) == 0 else { throw WindowError.noDisplay(String(cString: SDL_GetError())) }
        let driver = SDL_GetCurrentVideoDriver().map { String(cString: $0) } ?? ""
        let requested = ProcessInfo.processInfo.environment["SDL_VIDEODRIVER"].map { !$0.isEmpty } ?? false
        if !requested, let reason = Self.invisibleDriverReason(driver) {
            SDL_Quit()
            throw WindowError.noDisplay(reason)
        }
        SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "0")
        let position = Int32(bitPattern: 0x2FFF_0000)  // SDL_WINDOWPOS_CENTERED
        let flags = SDL_WINDOW_RESIZABLE.rawValue | SDL_WINDOW_SHOWN.rawValue
        guard let window = SDL_CreateWindow(title, position, position, Int32(width * scale), Int32(height * scale), flags) else {
            let reason = String(cString: SDL_GetError())
            SDL_Quit()
            throw WindowError.noDisplay(reason)
        }
        var renderer = SDL_CreateRenderer(window, -1, SDL_RENDERER_ACCELERATED.rawValue)
        if renderer == nil { renderer = SDL_CreateRenderer(window, -1, SDL_RENDERER_SOFTWARE.rawValue) }
        guard let renderer else {
            let reason = String(cString: SDL_GetError())
            SDL_DestroyWindow(window)
            SDL_Quit()
            throw WindowError.noDisplay(reason)
        }
        self.window = window
        self.renderer = renderer
    }

    /// Why a window on video driver `driver` would show nothing, or nil when it is a real display.
    static func invisibleDriverReason(_ driver: String) -> String? {
        guard Window.invisibleDrivers.contains(driver) || driver.isEmpty else { return nil }
        let environment = ProcessInfo.processInfo.environment
        let display = environment["DISPLAY"].map { "DISPLAY=\($0)" } ?? "DISPLAY unset"
        let wayland = environment["WAYLAND_DISPLAY"].map { "WAYLAND_DISPLAY=\($0)" } ?? "WAYLAND_DISPLAY unset"
        return "no display: SDL found no usable video driver (\(display), \(wayland)) and fell back to "
            + "'\(driver.isEmpty ? "none" : driver)', which shows nothing; to run a window that shows nothing on purpose, "
            + "set SDL_VIDEODRIVER=\(driver.isEmpty ? "offscreen" : driver)"
    }

    /// SDL video drivers that draw into memory only.
    static let invisibleDrivers: Set<String> = ["offscreen", "dummy", "evdev"]

    deinit {
        if let texture { SDL_DestroyTexture(texture) }
        SDL_DestroyRenderer(renderer)
        SDL_DestroyWindow(window)
        SDL_Quit()
    }

    /// Output size in pixels.
    public var outputSize: (width: Int, height: Int) {
        var w: Int32 = 0, h: Int32 = 0
        SDL_GetRendererOutputSize(renderer, &w, &h)
        return (Int(w), Int(h))
    }

    /// The largest whole scale at which `frame` fits, and where it goes (centred).
    public func placement(of frame: Canvas) -> (scale: Int, x: Int, y: Int) {
        let (w, h) = outputSize
        let scale = max(1, min(w / frame.width, h / frame.height))
        return (scale, (w - frame.width * scale) / 2, (h - frame.height * scale) / 2)
    }

    /// Shows `frame`, scaled by the largest whole factor that fits, on a dark background.
    public func present(_ frame: Canvas) {
        if texture == nil || textureSize != (frame.width, frame.height) {
            if let texture { SDL_DestroyTexture(texture) }
            texture = SDL_CreateTexture(renderer, SDL_PIXELFORMAT_ABGR8888.rawValue, Int32(SDL_TEXTUREACCESS_STREAMING.rawValue),
                                        Int32(frame.width), Int32(frame.height))
            textureSize = (frame.width, frame.height)
        }
        frame.pixels.withUnsafeBytes { bytes in
            _ = SDL_UpdateTexture(texture, nil, bytes.baseAddress, Int32(frame.width * 4))
        }
        let (scale, x, y) = placement(of: frame)
        var target = SDL_Rect(x: Int32(x), y: Int32(y), w: Int32(frame.width * scale), h: Int32(frame.height * scale))
        SDL_SetRenderDrawColor(renderer, 16, 16, 18, 255)
        SDL_RenderClear(renderer)
        SDL_RenderCopy(renderer, texture, nil, &target)
        SDL_RenderPresent(renderer)
        lastFrame = frame
    }

    /// The window's pixels as RGBA, read back from the renderer.
    public func readPixels() -> Canvas {
        let (w, h) = outputSize
        var canvas = Canvas(width: w, height: h)
        canvas.pixels.withUnsafeMutableBytes { bytes in
            _ = SDL_RenderReadPixels(renderer, nil, SDL_PIXELFORMAT_ABGR8888.rawValue, bytes.baseAddress, Int32(w * 4))
        }
        return canvas
    }

    /// The keys pressed since the last call, and whether the window was closed.
    public func pollKeys() -> (keys: [Key], closed: Bool) {
        var keys: [Key] = [], closed = false
        var event = SDL_Event()
        while SDL_PollEvent(&event) != 0 {
            switch SDL_EventType(rawValue: event.type) {
            case SDL_QUIT: closed = true
            case SDL_KEYDOWN:
                if let key = Self.key(Int(event.key.keysym.sym)) { keys.append(key) }
            default: break
            }
        }
        return (keys, closed)
    }

    static func key(_ code: Int) -> Key? {
        switch code {
        case Int(SDLK_LEFT.rawValue): return .left
        case Int(SDLK_RIGHT.rawValue): return .right
        case Int(SDLK_UP.rawValue): return .up
        case Int(SDLK_DOWN.rawValue): return .down
        case Int(SDLK_SPACE.rawValue): return .space
        case Int(SDLK_RETURN.rawValue): return .enter
        case Int(SDLK_ESCAPE.rawValue): return .escape
        case Int(SDLK_HOME.rawValue): return .character("<")
        case Int(SDLK_END.rawValue): return .character(">")
        case 32..<127: return .character(Character(UnicodeScalar(UInt8(code))))
        default: return nil
        }
    }

    /// Sends a key press into the window's event queue, as a person's would arrive (for tests and scripted play).
    public static func pushKey(_ key: Key) {
        let code: Int32
        switch key {
        case .left: code = Int32(bitPattern: SDLK_LEFT.rawValue)
        case .right: code = Int32(bitPattern: SDLK_RIGHT.rawValue)
        case .up: code = Int32(bitPattern: SDLK_UP.rawValue)
        case .down: code = Int32(bitPattern: SDLK_DOWN.rawValue)
        case .space: code = Int32(bitPattern: SDLK_SPACE.rawValue)
        case .enter: code = Int32(bitPattern: SDLK_RETURN.rawValue)
        case .escape: code = Int32(bitPattern: SDLK_ESCAPE.rawValue)
        case .character(let c): code = Int32(c.asciiValue ?? 0)
        }
        var event = SDL_Event()
        event.type = SDL_KEYDOWN.rawValue
        event.key.keysym.sym = code
        event.key.state = UInt8(SDL_PRESSED)
        SDL_PushEvent(&event)
    }
}
#endif
