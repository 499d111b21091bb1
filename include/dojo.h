/*
 * dojo.h: the C interface to Dojo's simulator (libdojo-c.so, built by `swift build -c release --product dojo-c`).
 *
 * Versioning: DOJO_ABI_VERSION changes whenever a declaration here changes meaning; compare it with
 * dojo_abi_version() after loading the library and refuse a mismatch.
 *
 * Conventions
 *  - Functions returning int return 0 on success and -1 on failure; functions returning a pointer return NULL on
 *    failure. After a failure, dojo_last_error() gives a message naming what was wrong and what was expected. The
 *    message belongs to the calling thread and stays valid until that thread's next failing call.
 *  - Nothing traps on bad input: unknown environment ids, bad options, buffers of the wrong size, actions outside the
 *    action space and destroyed handles are all reported as errors.
 *  - Buffers are owned by the caller and sized in elements (not bytes). Observations are float32, row-major
 *    (copies x observation_size); actions are float32 (copies x action_width; a discrete action is its index as a
 *    float). Nothing is allocated per step.
 *  - A handle may be used from any thread; calls on the same handle are serialized, calls on different handles run
 *    in parallel. JSON strings returned for a handle stay valid until the handle is destroyed.
 */
#ifndef DOJO_H
#define DOJO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOJO_ABI_VERSION 1

/* The library's version ("0.1.0") and ABI version (DOJO_ABI_VERSION when the header matches the library). */
const char *dojo_version(void);
int32_t dojo_abi_version(void);

/* The calling thread's last error message, or NULL if none of its calls failed yet. */
const char *dojo_last_error(void);

/* Every environment as JSON: [{"id", "summary", "observation_space", "action_space", "options": [{"name",
 * "default", "accepts", "summary"}]}]. Static; never freed. */
const char *dojo_environments_json(void);

typedef struct dojo_vector dojo_vector;

/* Creates `copies` copies of environment `id` with options given as a JSON object of strings
 * ({"map": "key-door"}; NULL or "" for none), stepped on up to `threads` threads. NULL on failure. */
dojo_vector *dojo_vector_create(const char *id, const char *options_json, int32_t copies, int32_t threads);

/* Destroys a vector (NULL is ignored). Using it afterwards is reported as an error, not undefined behaviour. */
void dojo_vector_destroy(dojo_vector *vector);

/* The vector as JSON: {"id", "copies", "threads", "observation_size", "action_width", "observation_space" and
 * "action_space" (as text), "observation" and "action" (structured: {"type": "discrete", "n"}, {"type": "box", "low",
 * "high", "shape"} with +-1e38 for unbounded, {"type": "multi_discrete", "nvec"}, {"type": "entity_set", "rows",
 * "features"} whose first feature is presence), "observation_kind" ("binary" or "continuous"), "info_keys",
 * "render_width", "render_height", "render_fps", "action_names", "options"}. NULL on failure. */
const char *dojo_vector_describe(dojo_vector *vector);

/* Resets every copy; copy i is seeded from `seed` as `dojo rollout` and training seed it. Writes the first
 * observations (copies x observation_size). */
int32_t dojo_vector_reset(dojo_vector *vector, uint64_t seed, float *observations, int64_t observations_count);

/* Resets each copy i with exactly seeds[i] (seeds_count = copies), as `dojo rollout --seed` and Gymnasium's
 * reset(seed=...) seed a single environment; with seeds NULL each copy continues its own generator (Gymnasium's
 * reset() without a seed). Writes the first observations (copies x observation_size). */
int32_t dojo_vector_reset_seeds(dojo_vector *vector, const uint64_t *seeds, int64_t seeds_count, float *observations,
                                int64_t observations_count);

/* Steps every copy with its row of `actions` (copies x action_width). Copies whose episode ended are reset at once
 * (same-step autoreset): `observations` then holds the next episode's first observation and `final_observations`
 * (copies x observation_size, may be NULL) the last observation of the episode that ended. `terminated` and
 * `truncated` are 0 or 1 per copy. Every action is checked against the action space before any copy moves. */
int32_t dojo_vector_step(dojo_vector *vector, const float *actions, int64_t actions_count, float *observations,
                         float *final_observations, int64_t observations_count, float *rewards, uint8_t *terminated,
                         uint8_t *truncated, int64_t copies_count);

/* Copy `copy`'s numeric info, one value per key of "info_keys" (NaN where the environment does not report it). */
int32_t dojo_vector_info(dojo_vector *vector, int32_t copy, double *values, int64_t values_count);

/* Renders copy `copy` as RGB bytes (render_height x render_width x 3). */
int32_t dojo_vector_render(dojo_vector *vector, int32_t copy, uint8_t *rgb, int64_t rgb_count);

#ifdef __cplusplus
}
#endif

#endif /* DOJO_H */
