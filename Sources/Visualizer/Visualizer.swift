// Visualizer: turns Canvas frames and overlays into pixels in an SDL2 window (package trait "SDL").
import Sim
#if SDL
import CSDL2

/// Whether this build includes the SDL2 window.
public let windowSupportCompiled = true
/// The linked SDL2 version, e.g. "2.26.5".
public func sdlVersion() -> String {
    var version = SDL_version()
    SDL_GetVersion(&version)
    return "\(version.major).\(version.minor).\(version.patch)"
}
#else
/// Whether this build includes the SDL2 window.
public let windowSupportCompiled = false
public func sdlVersion() -> String? { nil }
#endif
