// Sim: the simulator contract — environments (`Environment`, their `EnvironmentMetadata`), spaces, options, wrappers,
// the vector environment and its worker pool, the checker, canvas and PNG, replays. It re-exports the seeded
// generator every environment and agent derives its random streams from.
@_exported import SeededRandom
