#!/usr/bin/env python3
"""A small study under `mpirun -np R` against the same study in one process: the same files,
the same summary within 1e-12 relative; then --resume under MPI skips every finished point.
Variants: a mixed state (default), a pure state (one member: not split), and a disorder study
(realisations split over ranks in whole batches; every metric and standard error compared).
usage: check_mpi_study.py MPIEXEC PHASESPACE RANKS WORKDIR [pure|disorder]"""
import json, os, shutil, subprocess, sys

mpiexec, cli, ranks, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
variant = sys.argv[5] if len(sys.argv) > 5 else ""
assert variant in ("", "pure", "disorder"), variant
pure = variant == "pure"
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
config = {
    "name": "mpi_test", "backend": "cpu",
    "system": {"mass": 1.0, "domain": [-4.0, 4.0], "potential": "x^4/4 - x^2/2",
               "potential_derivative": "x^3 - x"},
    "initial_state": {"kind": "gaussian", "x0": -1.0, "p0": 0.45, "sigma": 0.3} if pure else
                     {"kind": "gaussian_mixed", "x0": -1.0, "p0": 0.45, "sigma_x": 0.3,
                      "sigma_p": 0.3, "weight_tolerance": 1e-8},
    "hbar": [0.08, 0.04],
    "resolution": {"p_cut": 3.0, "oversampling": 2.0},
    "window": {"shape": "gaussian", "width": {"coefficient": 0.5, "exponent": 0.5}},
    "phase_space": {"p_max": 2.5, "fft_length": 256},
    "time": {"t_end": 0.5, "dt": 0.01, "outputs": [0.25, 0.5], "scheme": "yoshida4"},
    "classical": {"interpolation": "lagrange7", "scheme": "yoshida4", "momentum_boundary": "zero"},
    "metrics": {"weak_width": [0.2, 0.2], "regions": {"right_well": [0.0, 4.0]}},
    "output": {"dir": os.path.join(work, "unused"), "fields": True, "figures": False},
}
if variant == "disorder":
    # 6 realisations in 4 batches of 1, 2, 1, 2 (boundaries b*6//4), each realisation a mixed
    # state of several members: chunks must end at batch boundaries, not at realisations.
    config["system"] = {"mass": 1.0, "domain": [-6.0, 6.0], "potential": "0",
                        "disorder": {"impurity": {"shape": "gaussian",
                                                  "width": {"coefficient": 0.3, "exponent": 1}},
                                     "reference_momentum": 1.0, "scattering_time": 1.0,
                                     "born_parameter": 0.5, "realisations": 6, "batches": 4,
                                     "seed": 3}}
    config["initial_state"] = {"kind": "gaussian_mixed", "x0": -2.0, "p0": 1.0, "sigma_x": 0.6,
                               "sigma_p": 0.2, "weight_tolerance": 1e-4}
    config["hbar"] = [0.1, 0.07]
    config["resolution"] = {"points": 1024}
    config["window"] = {"shape": "gaussian", "width": 0.4}
    config["phase_space"] = {"p_max": 2.0}
    config["time"] = {"t_end": 0.5, "dt": 0.005, "outputs": [0.25, 0.5], "scheme": "strang"}
    config["classical"] = {"interpolation": "lagrange5", "dt": 0.025}
    config["metrics"] = {"weak_width": [0.3, 0.1]}
path = os.path.join(work, "config.json")
with open(path, "w") as f:
    json.dump(config, f)
env = dict(os.environ, OMPI_MCA_btl="self,vader", OMPI_MCA_rmaps_base_oversubscribe="1",
           OMPI_MCA_btl_vader_single_copy_mechanism="none", OMP_NUM_THREADS="1")
mpi = [mpiexec, "--allow-run-as-root", "--oversubscribe", "-np", str(ranks)]

def run(command):
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result

one, many = os.path.join(work, "one"), os.path.join(work, "many")
run([cli, "run", path, "--out", one, "--quiet"])
shown = run(mpi + [cli, "run", path, "--out", many]).stderr
print(shown)
validate = run([cli, "validate", path, "--ranks", str(ranks)]).stdout
assert "work division over %d ranks" % ranks in validate, validate
if variant == "disorder":
    # The division splits a point only at batch boundaries (members b*R//B * M0), and here
    # at least one point is really shared.
    shared = 0
    for line in validate.splitlines():
        words = line.split(None, 6)
        if len(words) < 7 or not words[0].isdigit():
            continue
        members, blocks = int(words[2]), int(words[3])
        assert blocks == 4, line
        allowed = {b * 6 // 4 * (members // 6) for b in range(5)}
        chunks = [chunk.split(":")[1].strip().split("..") for chunk in words[6].split(",")]
        for begin, end in chunks:
            assert int(begin) in allowed and int(end) in allowed, (line, allowed)
        shared += len(chunks) > 1
    assert shared > 0, validate

def files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
assert files(one) == files(many), (files(one), files(many))

def compare(a, b, where):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            if k not in ("timing", "device"):
                compare(a[k], b[k], where + "." + k)
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        # Fitted rates are slopes of order one; a slope near zero (mass ~ const) is compared
        # on that scale, not relative to itself (its round-off is ~1e-16 absolute).
        scale = max(abs(a), abs(b), 1.0 if ".fits." in where else 1e-300)
        assert abs(a - b) <= 1e-12 * scale, f"{where}: {a} vs {b}"
    else:
        assert a == b, f"{where}: {a} vs {b}"

summary = lambda d: json.load(open(os.path.join(d, "summary.json")))
compare(summary(one), summary(many), "summary")
if pure and ranks > 2:
    assert "idle ranks (%d)" % (ranks - 2) in shown, shown
resumed = run(mpi + [cli, "run", path, "--out", many, "--resume"]).stderr
assert resumed.count("skipped (resumed)") == 2, resumed
compare(summary(one), summary(many), "resumed summary")
print(f"ok: {ranks} ranks agree with one process within 1e-12")
