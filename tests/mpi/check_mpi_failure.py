#!/usr/bin/env python3
"""A rank that fails ends the whole MPI job with its message, never a hang: rank 0 cannot
create the output folder (a regular file stands in its path) while rank 1 is ready to work;
then rank 0, the job's writer, finds its results folder locked by another run (held here).
usage: check_mpi_failure.py MPIEXEC PHASESPACE WORKDIR"""
import fcntl, json, os, shutil, subprocess, sys

mpiexec, cli, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
config = {
    "name": "mpi_failure", "backend": "cpu",
    "system": {"mass": 1.0, "domain": [-4.0, 4.0], "potential": "x^4/4 - x^2/2"},
    "initial_state": {"kind": "gaussian_mixed", "x0": -1.0, "p0": 0.45, "sigma_x": 0.3,
                      "sigma_p": 0.3},
    "hbar": [0.08, 0.04],
    "resolution": {"p_cut": 3.0, "oversampling": 2.0},
    "window": {"shape": "gaussian", "width": {"coefficient": 0.5, "exponent": 0.5}},
    "phase_space": {"p_max": 2.5},
    "time": {"t_end": 0.5, "dt": 0.01},
    "metrics": {"weak_width": [0.2, 0.2]},
    "output": {"fields": False, "figures": False},
}
path = os.path.join(work, "config.json")
with open(path, "w") as f:
    json.dump(config, f)
blocker = os.path.join(work, "a_file")
open(blocker, "w").close()
env = dict(os.environ, OMPI_MCA_btl="self,vader", OMPI_MCA_rmaps_base_oversubscribe="1",
           OMPI_MCA_btl_vader_single_copy_mechanism="none", OMP_NUM_THREADS="1")

def run_failing(out, expected, why):
    command = [mpiexec, "--allow-run-as-root", "--oversubscribe", "-np", "2", cli, "run", path,
               "--out", out, "--quiet"]
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        sys.exit("the job hung for 60 s after rank 0 failed")
    output = result.stdout + result.stderr
    if result.returncode == 0:
        sys.exit("the job succeeded although " + why + ":\n" + output)
    if "error on rank 0" not in output or expected not in output:
        sys.exit("the job failed without rank 0's message:\n" + output)
    print("failed as it should, exit status %d:\n%s" % (result.returncode, output))

run_failing(os.path.join(blocker, "results"), "cannot create it", "rank 0 could not write its output")
locked = os.path.join(work, "locked")
os.makedirs(locked)
with open(os.path.join(locked, ".phasespace.lock"), "w") as holder:
    holder.write("pid 1 on host elsewhere\n")
    holder.flush()
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    run_failing(locked, "in use by another phasespace run (pid 1 on host elsewhere",
                "another run holds its results folder")
if os.listdir(locked) != [".phasespace.lock"]:
    sys.exit("the refused job wrote into the locked folder: %s" % os.listdir(locked))
