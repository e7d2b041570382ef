#!/usr/bin/python3
"""Rank-normalised split R-hat and bulk ESS (Vehtari et al. 2021) in numpy, written from the
`posterior` R package (rhat(), ess_bulk(), autocovariance() by FFT), independently of
engine/stats/mcmc_diagnostics.cpp. Prints the values tests/stats/mcmc_diagnostics_test.cpp
compares with, for the synthetic draw arrays defined there (same closed-form formulas)."""
from statistics import NormalDist

import numpy as np


def split_chains(x):  # x: (draws, chains)
    n = x.shape[0]
    half = n // 2
    return np.concatenate([x[:half], x[n - half:]], axis=1)


def average_ranks(values):
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for v in np.unique(values):  # ties share their mean rank
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return ranks


def z_scale(x):
    r = average_ranks(x.ravel()).reshape(x.shape)
    s = x.size
    inv = np.vectorize(NormalDist().inv_cdf)
    return inv((r - 0.375) / (s + 0.25))


def rhat_basic(x):
    n = x.shape[0]
    means = x.mean(axis=0)
    w = x.var(axis=0, ddof=1).mean()
    b = n * means.var(ddof=1)
    return np.sqrt(((n - 1) / n * w + b / n) / w)


def autocovariance(x):
    n = len(x)
    m = 2 ** int(np.ceil(np.log2(2 * n)))
    f = np.fft.fft(x - x.mean(), m)
    ac = np.fft.ifft(f * np.conj(f)).real[:n]
    return ac / n


def ess_basic(x):
    n, chains = x.shape
    acov = np.stack([autocovariance(x[:, c]) for c in range(chains)], axis=1)
    acov_means = acov.mean(axis=1)
    mean_var = acov_means[0] * n / (n - 1)
    var_plus = mean_var * (n - 1) / n
    if chains > 1:
        var_plus += x.mean(axis=0).var(ddof=1)
    rho = np.zeros(n)
    t = 0
    even = 1.0
    rho[0] = even
    odd = 1 - (mean_var - acov_means[1]) / var_plus
    rho[1] = odd
    while t < n - 5 and not np.isnan(even + odd) and even + odd > 0:
        t += 2
        even = 1 - (mean_var - acov_means[t]) / var_plus
        odd = 1 - (mean_var - acov_means[t + 1]) / var_plus
        if even + odd >= 0:
            rho[t], rho[t + 1] = even, odd
    max_t = t
    if even > 0:
        rho[max_t] = even
    t = 0
    while t <= max_t - 4:
        t += 2
        if rho[t] + rho[t + 1] > rho[t - 2] + rho[t - 1]:
            rho[t] = rho[t + 1] = (rho[t - 2] + rho[t - 1]) / 2
    total = chains * n
    tau = -1 + 2 * rho[:max_t].sum() + rho[max_t]
    tau = max(tau, 1 / np.log10(total))
    return total / tau


def rhat(x):
    bulk = rhat_basic(z_scale(split_chains(x)))
    folded = np.abs(x - np.median(x))
    return max(bulk, rhat_basic(z_scale(split_chains(folded))))


def ess_bulk(x):
    return ess_basic(z_scale(split_chains(x)))


def synthetic(chains, draws, shift):
    """x[c][t] = sin(0.7 t^2 + 1.9 c) + 0.3 sin(0.05 t) + shift * c: quasi-random, slowly
    drifting; shift > 0 puts the chains at different levels (not mixed)."""
    t = np.arange(draws)[:, None]
    c = np.arange(chains)[None, :]
    return np.sin(0.7 * t * t + 1.9 * c) + 0.3 * np.sin(0.05 * t) + shift * c


if __name__ == "__main__":
    for shift in (0.0, 0.5):
        x = synthetic(4, 101, shift)
        print(f"shift {shift}: rhat {rhat(x):.12f} ess_bulk {ess_bulk(x):.10f} "
              f"rhat_basic {rhat_basic(split_chains(x)):.12f} ess_basic {ess_basic(split_chains(x)):.10f}")
    hand = np.array([[1, 3, 1, 3], [5, 7, 5, 7]], dtype=float).T
    print(f"hand: rhat_basic {rhat_basic(split_chains(hand)):.12f} rhat {rhat(hand):.12f}")
