"""`shardstream index` killed with SIGKILL at random moments until a run completes: the crash
safety tests' driver."""
import shutil
import signal
import subprocess


def index_until_done_with_kills(bin_path, db, corpus, rng, max_delay, extra):
    """Runs `index` again and again, killing it with SIGKILL after a random delay in
    [0, max_delay) seconds, until a run finishes. Returns how many runs were killed."""
    kills = 0
    while True:
        proc = subprocess.Popen([bin_path, "index", "--db", db, "--corpus", corpus, *extra],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.0, max_delay) if kills < 40 else None)
            assert proc.returncode == 0
            return kills
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1


def crash_through(bin_path, start_db, work_db, corpus, rng, max_delay, extra=("--jobs", "2")):
    """Copies `start_db` (or nothing) to `work_db` and indexes it with kills (`extra`: more
    index flags); if no run happened to be killed, starts over with shorter delays, so that
    crashes really are exercised."""
    while True:
        shutil.rmtree(work_db, ignore_errors=True)
        if start_db:
            shutil.copytree(start_db, work_db)
        if index_until_done_with_kills(bin_path, work_db, corpus, rng, max_delay, extra) > 0:
            return
        max_delay /= 2
