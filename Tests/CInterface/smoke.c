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
    printf("C interface smoke test: ABI %d, library %s, %d episodes, errors reported\n", dojo_abi_version(), dojo_version(), episodes);
    return 0;
}
