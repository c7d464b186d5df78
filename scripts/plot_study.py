#!/usr/bin/python3
"""Figures of a phasespace study.

Usage: /usr/bin/python3 scripts/plot_study.py RESULTS_DIR

Reads RESULTS_DIR/summary.json and RESULTS_DIR/fields/hbar_<i>.h5 (as `phasespace run` writes
them) and writes into RESULTS_DIR/figures/:
  rho_hbar_<i>.png        rho_quantum and rho_classical side by side at the last output time
  convergence.png         distance vs hbar (log-log) at the last output time, fitted slopes
  marginals_hbar_<i>.png  n(x) = sum_p rho dp and j(x) = sum_p (p/m) rho dp of both sides
A missing fields file skips that point's field figures (with a message); a missing or unreadable
summary.json is an error (exit 1). Every figure is written under a temporary name and renamed,
so an interrupted run never leaves a half-written PNG under its final name.
"""
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# The distances fitted against hbar, with the labels the legend shows.
DISTANCES = [
    ("l1", "strong L1"),
    ("l1_weak", "weak L1"),
    ("l2_rel", "relative L2"),
    ("density_l1", "density n(x) L1"),
    ("current_l1", "current j(x) L1"),
]


def fail(message):
    print("plot_study: " + message, file=sys.stderr)
    sys.exit(1)


def save(figure, path):
    """Saves a figure atomically: a temporary file in the same folder, then os.replace."""
    temporary = "%s.tmp-%d.png" % (path, os.getpid())
    try:
        figure.savefig(temporary, format="png", dpi=120)
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        if os.path.exists(temporary):
            os.remove(temporary)
    print("plot_study: wrote " + path)


def number(value):
    """A JSON number as float; null (NaN or inf on the C++ side) as NaN."""
    return float("nan") if value is None else float(value)


def last_value(run, metric):
    values = run.get("metrics", {}).get(metric, [])
    return number(values[-1]) if values else float("nan")


def load_summary(results_dir):
    path = os.path.join(results_dir, "summary.json")
    if not os.path.isfile(path):
        fail("no summary.json in %s (run `phasespace run CONFIG` first)" % results_dir)
    try:
        with open(path) as stream:
            summary = json.load(stream)
    except (OSError, ValueError) as error:
        fail("cannot read %s: %s" % (path, error))
    if not isinstance(summary.get("runs"), list):
        fail("%s has no 'runs' list" % path)
    return summary


def load_fields(path):
    import h5py  # only needed for the field figures

    with h5py.File(path, "r") as file:
        return {
            "x0": file["x0"][()],
            "p": file["p"][()],
            "times": file["times"][()],
            "rho_quantum": file["rho_quantum"][()],
            "rho_classical": file["rho_classical"][()],
        }


def spacing(axis):
    return float(axis[1] - axis[0]) if len(axis) >= 2 else 1.0


def plot_densities(fields, run, path):
    x0, p = fields["x0"], fields["p"]
    quantum = fields["rho_quantum"][-1]
    classical = fields["rho_classical"][-1]
    low = float(min(quantum.min(), classical.min()))
    high = float(max(quantum.max(), classical.max()))
    half_dx, half_dp = 0.5 * spacing(x0), 0.5 * spacing(p)
    extent = [x0[0] - half_dx, x0[-1] + half_dx, p[0] - half_dp, p[-1] + half_dp]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True, constrained_layout=True)
    for axis, density, name in ((axes[0], quantum, "ρ_q (quantum)"), (axes[1], classical, "ρ_c (classical)")):
        # rho is stored [x0, p]: transpose so x0 runs along the horizontal axis.
        image = axis.imshow(density.T, origin="lower", extent=extent, aspect="auto",
                            vmin=low, vmax=high, cmap="viridis", interpolation="nearest")
        axis.set_title(name)
        axis.set_xlabel("x0")
    axes[0].set_ylabel("p")
    figure.colorbar(image, ax=list(axes), label="ρ")
    figure.suptitle("ħ = %g, t = %g: strong L1 = %.3g, weak L1 = %.3g"
                    % (run["hbar"], fields["times"][-1], last_value(run, "l1"), last_value(run, "l1_weak")))
    save(figure, path)


def plot_marginals(fields, run, mass, path):
    p = fields["p"]
    dp = spacing(p)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for name, density, style in (("quantum", fields["rho_quantum"][-1], "-"),
                                 ("classical", fields["rho_classical"][-1], "--")):
        n = density.sum(axis=1) * dp
        j = (density * (p / mass)[np.newaxis, :]).sum(axis=1) * dp
        left.plot(fields["x0"], n, style, label=name)
        right.plot(fields["x0"], j, style, label=name)
    left.set_title("n(x) = ∫ρ dp  (L1 distance %.3g)" % last_value(run, "density_l1"))
    right.set_title("j(x) = ∫(p/m)ρ dp  (L1 distance %.3g)" % last_value(run, "current_l1"))
    for axis in (left, right):
        axis.set_xlabel("x")
        axis.legend()
    figure.suptitle("ħ = %g, t = %g" % (run["hbar"], fields["times"][-1]))
    save(figure, path)


def fit_at(summary, metric, time):
    """The study's fit (rate, stderr) of a metric at the output time closest to `time`."""
    entries = summary.get("fits", {}).get(metric, [])
    if not entries:
        return None
    entry = min(entries, key=lambda e: abs(number(e.get("time")) - time))
    rate, error = number(entry.get("rate")), number(entry.get("stderr"))
    return None if math.isnan(rate) else (rate, error)


def plot_convergence(summary, path):
    runs = summary["runs"]
    times = runs[0].get("times", []) if runs else []
    if not times:
        print("plot_study: no output times in summary.json; convergence.png skipped")
        return
    time = number(times[-1])
    figure, axis = plt.subplots(figsize=(7, 5.2), constrained_layout=True)
    plotted = 0
    for metric, label in DISTANCES:
        hbar = np.array([number(run["hbar"]) for run in runs])
        error = np.array([last_value(run, metric) for run in runs])
        usable = np.isfinite(error) & (error > 0) & (hbar > 0)
        if not usable.any():
            continue
        hbar, error = hbar[usable], error[usable]
        points = axis.loglog(hbar, error, "o", label=label)[0]
        plotted += 1
        fit = fit_at(summary, metric, time)
        if fit is None or len(hbar) < 2:
            continue
        rate, stderr = fit
        # The least-squares line with that slope passes through the mean of the log points.
        offset = np.mean(np.log(error)) - rate * np.mean(np.log(hbar))
        line = np.geomspace(hbar.min(), hbar.max(), 50)
        points.set_label("%s: β = %.2f ± %.2f" % (label, rate, stderr))
        axis.loglog(line, np.exp(offset) * line ** rate, "-", color=points.get_color(), alpha=0.7)
    if plotted == 0:
        plt.close(figure)
        print("plot_study: no positive distances at t = %g; convergence.png skipped" % time)
        return
    axis.set_xlabel("ħ")
    axis.set_ylabel("distance at t = %g" % time)
    axis.set_title("ρ_q vs ρ_c as ħ → 0 (fit: distance ∝ ħ^β)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize="small")
    save(figure, path)


def main(argv):
    if len(argv) != 2:
        fail("usage: /usr/bin/python3 scripts/plot_study.py RESULTS_DIR")
    results_dir = argv[1]
    summary = load_summary(results_dir)
    figures_dir = os.path.join(results_dir, "figures")
    os.makedirs(figures_dir, exist_ok=True)
    mass = float(summary.get("config", {}).get("system", {}).get("mass", 1.0))

    for position, run in enumerate(summary["runs"]):
        index = run.get("index", position)
        fields_path = os.path.join(results_dir, "fields", "hbar_%d.h5" % index)
        if not os.path.isfile(fields_path):
            print("plot_study: %s missing; field figures of ħ = %g skipped" % (fields_path, run["hbar"]))
            continue
        fields = load_fields(fields_path)
        if len(fields["times"]) == 0:
            print("plot_study: %s has no output times; skipped" % fields_path)
            continue
        plot_densities(fields, run, os.path.join(figures_dir, "rho_hbar_%d.png" % index))
        plot_marginals(fields, run, mass, os.path.join(figures_dir, "marginals_hbar_%d.png" % index))

    plot_convergence(summary, os.path.join(figures_dir, "convergence.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
