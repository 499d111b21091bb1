// Sim: the simulator contract (environments, spaces, vector env, wrappers, canvas, replays).
// The environment contract arrives with the simulator issue; for now the module re-exports the seeded generator
// that every environment and agent derives its random streams from.
@_exported import SeededRandom
