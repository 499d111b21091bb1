/* The C interface from C, through the shared library: include/dojo.h must match libdojo-c.so's symbols and ABI.
 * Built and run by scripts/test.sh; exits non-zero with a message on the first mismatch. */
#include "dojo.h"
#include <stdio.h>
#include <string.h>

#define CHECK(condition, what) do { if (!(condition)) { fprintf(stderr, "C interface smoke test: %s (%s)\n", what, \
    dojo_last_error() ? dojo_last_error() : "no error message"); return 1; } } while (0)

int main(void) {
    CHECK(dojo_abi_version() == DOJO_ABI_VERSION, "the library's ABI version differs from the header's");
    CHECK(strstr(dojo_environments_json(), "\"cartpole\"") != NULL, "the environment list lacks cartpole");
    dojo_vector *vector = dojo_vector_create("cartpole", "{\"max_steps\": 50}", 2, 2);
    CHECK(vector != NULL, "cartpole with two copies was not created");
    float observations[8], finals[8], rewards[2], actions[2] = {0, 1};
    uint8_t terminated[2], truncated[2];
    CHECK(dojo_vector_reset(vector, 3, observations, 8) == 0, "reset failed");
    int episodes = 0;
    for (int step = 0; step < 200; step++) {
        CHECK(dojo_vector_step(vector, actions, 2, observations, finals, 8, rewards, terminated, truncated, 2) == 0, "step failed");
        CHECK(rewards[0] == 1.0f && rewards[1] == 1.0f, "cart-pole pays 1 a step");
        episodes += terminated[0] + truncated[0];
    }
    CHECK(episodes > 0, "no episode ended in 200 steps of a 50-step limit");
    actions[1] = 7;
    CHECK(dojo_vector_step(vector, actions, 2, observations, finals, 8, rewards, terminated, truncated, 2) == -1, "an action outside Discrete(2) was accepted");
    CHECK(strstr(dojo_last_error(), "copy 1's action") != NULL, "the error does not name the copy");
    dojo_vector_destroy(vector);
    CHECK(dojo_vector_reset(vector, 3, observations, 8) == -1, "a destroyed vector was used");
    CHECK(dojo_vector_create("no-such-env", NULL, 1, 1) == NULL, "an unknown environment was created");
    /* A goal task: the step's reward is compute_reward of the goals in the observation it wrote (x, y at 0 and 2). */
    dojo_vector *goal = dojo_vector_create("arm", "{\"goal\": true, \"reward\": \"dense\"}", 1, 1);
    CHECK(goal != NULL, "the arm's goal task was not created");
    CHECK(strstr(dojo_vector_describe(goal), "\"type\":\"dict\"") != NULL, "the goal task's observation is no dict");
    float arm[10], armFinal[10], torques[2] = {0.5f, -0.25f}, reward, recomputed;
    CHECK(dojo_vector_reset(goal, 5, arm, 10) == 0, "the goal task's reset failed");
    CHECK(dojo_vector_step(goal, torques, 2, arm, armFinal, 10, &reward, terminated, truncated, 1) == 0, "the goal task's step failed");
    CHECK(dojo_vector_compute_reward(goal, arm, arm + 2, 2, &recomputed, 1) == 0, "compute_reward failed");
    CHECK(recomputed == reward && reward < 0, "compute_reward differs from the step's reward");
    CHECK(dojo_vector_compute_reward(goal, arm, arm + 2, 3, &recomputed, 1) == -1, "a goal of the wrong size was accepted");
    dojo_vector_destroy(goal);
    printf("C interface smoke test: ABI %d, library %s, %d episodes, errors reported\n", dojo_abi_version(), dojo_version(), episodes);
    return 0;
}
