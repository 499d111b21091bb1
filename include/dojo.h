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
 *    action space and destroyed handles are all reported as errors. Strings (ids, options, paths) must be UTF-8; other
 *    bytes are refused, never repaired. A handle is never reused, so a destroyed one stays an error.
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

#define DOJO_ABI_VERSION 2

/* Autoreset modes (dojo_vector_set_autoreset), in Gymnasium 1.x's terms. */
#define DOJO_AUTORESET_SAME_STEP 0 /* the default: a copy whose episode ends is reset in the same step */
#define DOJO_AUTORESET_NEXT_STEP 1 /* reset in the copy's next step, whose action is unused */
#define DOJO_AUTORESET_DISABLED 2  /* never: reset ended copies yourself (dojo_vector_reset_copy) */

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
 * ({"map": "key-door"}; numbers and true/false are taken as their text; at most 65,536 bytes; NULL or "" for none),
 * stepped on up to `threads` threads. NULL on failure. */
dojo_vector *dojo_vector_create(const char *id, const char *options_json, int32_t copies, int32_t threads);

/* Destroys a vector (NULL is ignored). Using it afterwards is reported as an error, not undefined behaviour. */
void dojo_vector_destroy(dojo_vector *vector);

/* The vector as JSON: {"id", "copies", "threads", "observation_size", "action_width", "observation_space" and
 * "action_space" (as text), "observation" and "action" (structured: {"type": "discrete", "n"}, {"type": "box", "low",
 * "high", "shape"} with +-1e38 for unbounded, {"type": "multi_discrete", "nvec"}, {"type": "entity_set", "rows",
 * "features"} whose first feature is presence, {"type": "dict", "keys", "spaces"} whose element is its parts' values
 * concatenated in key order), "observation_kind" ("binary" or "continuous"), "info_keys", "render_width",
 * "render_height", "render_fps", "action_names", "options", "goal" (null, or for a goal-conditioned environment
 * {"goal_size", "achieved_offset", "desired_offset", "observation_offset", "observation_size"}: where its goals lie in
 * an observation)}. NULL on failure. */
const char *dojo_vector_describe(dojo_vector *vector);

/* Resets every copy; copy i is seeded from `seed` as `dojo rollout` and training seed it. Writes the first
 * observations (copies x observation_size). */
int32_t dojo_vector_reset(dojo_vector *vector, uint64_t seed, float *observations, int64_t observations_count);

/* Resets each copy i with exactly seeds[i] (seeds_count = copies), as `dojo rollout --seed` and Gymnasium's
 * reset(seed=...) seed a single environment; with seeds NULL each copy continues its own generator (Gymnasium's
 * reset() without a seed). Writes the first observations (copies x observation_size). */
int32_t dojo_vector_reset_seeds(dojo_vector *vector, const uint64_t *seeds, int64_t seeds_count, float *observations,
                                int64_t observations_count);

/* Resets copy `copy` alone, with *seed or (seed NULL) continuing its generator, and writes its first observation
 * (observation_size values). The other copies are untouched. */
int32_t dojo_vector_reset_copy(dojo_vector *vector, int32_t copy, const uint64_t *seed, float *observation,
                               int64_t observation_count);

/* Chooses what happens to a copy whose episode ends (DOJO_AUTORESET_*). Ends any recording; reset before stepping. */
int32_t dojo_vector_set_autoreset(dojo_vector *vector, int32_t mode);

/* Steps every copy with its row of `actions` (copies x action_width). `terminated` and `truncated` are 0 or 1 per
 * copy; `final_observations` (copies x observation_size, may be NULL) holds, for copies whose episode ended, its last
 * observation. With same-step autoreset (the default) such a copy is reset at once and `observations` holds the next
 * episode's first observation; with next-step autoreset `observations` holds the last observation and the copy's next
 * step resets it (reward 0, not terminated or truncated, action unused); with autoreset disabled, stepping an ended
 * copy before resetting it is an error. Every used action is checked against the action space before any copy moves.
 * If a copy's simulation diverged (its episode ends as terminated) or a finished replay cannot be written, the call
 * fails, but the step happened and the outputs are written. */
int32_t dojo_vector_step(dojo_vector *vector, const float *actions, int64_t actions_count, float *observations,
                         float *final_observations, int64_t observations_count, float *rewards, uint8_t *terminated,
                         uint8_t *truncated, int64_t copies_count);

/* Binds caller-owned buffers, sized as for dojo_vector_step (all non-NULL), to the vector: from now on resets and steps
 * write observations, final observations, rewards and flags straight into them (nothing is copied after a step), and
 * dojo_vector_step_bound steps with the actions in the bound `actions` buffer. Their current contents are copied in
 * first. The buffers must stay valid until they are rebound or the vector is destroyed. */
int32_t dojo_vector_bind(dojo_vector *vector, float *actions, int64_t actions_count, float *observations,
                         float *final_observations, int64_t observations_count, float *rewards, uint8_t *terminated,
                         uint8_t *truncated, int64_t copies_count);

/* Binds a caller-owned buffer for every copy's info (copies x info_keys, as dojo_vector_infos writes it): from now on
 * it is rewritten after every step and reset, which saves a call a step. NULL unbinds. The buffer must stay valid
 * until it is unbound or the vector is destroyed. */
int32_t dojo_vector_bind_infos(dojo_vector *vector, double *values, int64_t values_count);

/* dojo_vector_step with the bound buffers: the cheapest call for bindings whose calls are costly (Python's ctypes). */
int32_t dojo_vector_step_bound(dojo_vector *vector);

/* The return and length of the episode each copy ended in the last step (valid where terminated or truncated). */
int32_t dojo_vector_episodes(dojo_vector *vector, double *returns, int64_t *lengths, int64_t copies_count);

/* Copy `copy`'s numeric info, one value per key of "info_keys" (NaN where the environment does not report it). */
int32_t dojo_vector_info(dojo_vector *vector, int32_t copy, double *values, int64_t values_count);

/* Every copy's numeric info (copies x info_keys; NaN where a copy does not report a key). */
int32_t dojo_vector_infos(dojo_vector *vector, double *values, int64_t values_count);

/* Renders copy `copy` as RGB bytes (render_height x render_width x 3). */
int32_t dojo_vector_render(dojo_vector *vector, int32_t copy, uint8_t *rgb, int64_t rgb_count);

/* Records copy `copy`'s episode as a Dojo replay at `path` (which must not exist: it is created at once and never
 * replaces a file), verifiable with `dojo replay PATH --verify`. Call right after a seeded reset of the copy, with
 * next-step or disabled autoreset. The replay is written when the episode ends, when the copy is reset, or when
 * recording stops: `path` NULL stops recording copy `copy` (a stopped replay ends neither terminated nor truncated). */
int32_t dojo_vector_record(dojo_vector *vector, int32_t copy, const char *path);

/* For a goal-conditioned vector ("goal" in dojo_vector_describe not null): writes the reward of each of
 * `rewards_count` (achieved, desired) goal pairs into `rewards`; `achieved` and `desired` hold rewards_count x goal_size
 * floats each (`goals_count` values, row-major). The reward dojo_vector_step reports is exactly this function of the
 * goals in the observation it writes (Gymnasium-Robotics' compute_reward), so relabelled goals can be rewarded. */
int32_t dojo_vector_compute_reward(dojo_vector *vector, const float *achieved, const float *desired, int64_t goals_count,
                                   float *rewards, int64_t rewards_count);

/* Policies: a trained run's policy, computed by Dojo's networks as `dojo eval` computes it (greedy). */
typedef struct dojo_policy dojo_policy;

/* Loads checkpoint `checkpoint` ("best" when NULL; "last" or a step) of run directory `run_directory`. */
dojo_policy *dojo_policy_load(const char *run_directory, const char *checkpoint);

void dojo_policy_destroy(dojo_policy *policy);

/* {"run", "checkpoint", "env", "options", "algorithm", "observation_size", "action_width", "recurrent", "observation"
 * and "action" (structured spaces, as in dojo_vector_describe)}. NULL on failure. */
const char *dojo_policy_describe(dojo_policy *policy);

/* Starts a new episode (a recurrent policy forgets its memory). */
int32_t dojo_policy_begin_episode(dojo_policy *policy);

/* Writes the action for each of `rows` observations (rows x observation_size) into `actions` (rows x action_width).
 * A recurrent policy takes one row per call, the episode's observations in order. */
int32_t dojo_policy_act(dojo_policy *policy, const float *observations, int64_t observations_count, float *actions,
                        int64_t actions_count, int32_t rows);

#ifdef __cplusplus
}
#endif

#endif /* DOJO_H */
