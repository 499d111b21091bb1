"""Resources: handles are freed, steps allocate nothing that stays, and threads do not mix vectors."""

import resource
import threading

import numpy as np

import dojo_rl


def resident_megabytes() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def test_creating_closing_and_stepping_does_not_grow_the_process():
    # Warm up (library, numpy, first allocations), then measure.
    for _ in range(50):
        dojo_rl.Vector("cartpole").close()
    before = resident_megabytes()
    for _ in range(10_000):
        dojo_rl.Vector("cartpole").close()
    vector = dojo_rl.Vector("cartpole", copies=64)
    vector.reset(seed=1)
    actions = np.zeros(64, dtype=np.float32)
    for step in range(1_000_000 // 64):
        actions[:] = step % 2
        vector.step(actions)
    vector.close()
    grown = resident_megabytes() - before
    assert grown < 5, f"the process grew by {grown:.1f} MB over 10,000 environments and 10^6 steps"


def test_two_vectors_in_two_threads_equal_one_after_the_other():
    def run(results, key):
        vector = dojo_rl.Vector("highway", {"scenario": "highway-fast"}, copies=8)
        observations = [vector.reset(seed=key).copy()]
        for step in range(100):
            observations.append(vector.step(np.full(8, (step + key) % 5, dtype=np.float32))[0].copy())
        vector.close()
        results[key] = np.stack(observations)

    sequential, concurrent = {}, {}
    run(sequential, 1)
    run(sequential, 2)
    threads = [threading.Thread(target=run, args=(concurrent, key)) for key in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key in (1, 2):
        assert np.array_equal(sequential[key].view(np.uint32), concurrent[key].view(np.uint32))
