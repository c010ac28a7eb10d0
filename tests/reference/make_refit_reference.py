"""Refit-per-resample bootstrap references for the IPW, Hájek, AIPW, ATT and AIPW-ATT effect
estimators.

Writes tests/reference/refit_reference.json. Run from the crate root:
    tests/reference/.venv/bin/python tests/reference/make_refit_reference.py
Needs numpy, scipy, statsmodels and scikit-learn (the file records the versions it was made with).
Deterministic: every draw comes from numpy.random.default_rng with a fixed seed.

Data (numpy.random.default_rng(20261206), drawn in this order, n = 400):
    x1 = rng.normal(size=n); x2 = rng.uniform(-1, 1, size=n)
    p  = 1 / (1 + exp(-(-0.3 + 0.8 x1 - 0.6 x2)));  t = rng.binomial(1, p) as 0.0/1.0
    y  = 1 + 2 t + 1.5 x1 - x2 + 0.5 t x1 + rng.normal(size=n)
x1, x2 and y are rounded to 10 significant digits before anything is fitted, so the stored
columns are exactly the inputs behind the stored values.

For per-row weights w (frequency weights; rows with w = 0 drop out of every fit and sum):
* propensity: weighted logistic MLE of t on [1, x1, x2], unpenalised
  (statsmodels GLM Binomial, freq_weights=w, tol=1e-12), e = fitted probability for every row;
  cross-checked on the full data against sklearn LogisticRegression(penalty=None) to 1e-6;
* outcome models: weighted least squares of y on [1, x1, x2] in each arm (statsmodels WLS),
  m0, m1 = predictions for every row;
* ipw   = Σ w (t y / e − (1−t) y / (1−e)) / Σ w
* hajek = Σ w t y / e / Σ w t / e − Σ w (1−t) y / (1−e) / Σ w (1−t) / (1−e)
* aipw  = Σ w (m1 − m0 + t (y − m1) / e − (1−t) (y − m0) / (1−e)) / Σ w
* att   = Σ w t y / Σ w t − Σ w (1−t) y e/(1−e) / Σ w (1−t) e/(1−e)
* aipw-att = [Σ w t (y − m0) − Σ w (1−t) e/(1−e) (y − m0)] / Σ w t  (the doubly robust ATT of
  Moodie, Saarela & Stephens 2018, both terms normalised by the treated weight Σ w t)

Bootstrap: B = 4000 iid resamples, w = bincount(rng2.integers(0, n, n), minlength=n) with
rng2 = numpy.random.default_rng(7); one shared set of weight vectors for all four estimators,
everything (propensity and outcome models) refitted on every resample. Recorded per estimator:
`std_error` (ddof=1), `percentile` ([2.5 %, 97.5 %], numpy's default linear interpolation),
`failed` (fits that raised or gave non-finite values), and the Monte-Carlo standard error of the
SE and of each endpoint: the 4000 replicates in order are split into 8 batches of 500, the
statistic is computed per batch, and sd(batch values, ddof=1) / sqrt(8) estimates the standard
error of the full-B value (`std_error_mc`, `percentile_mc`).

Cross-fitted AIPW (`crossfit`, K = 5 folds, seed 11), ceteris' documented fold rule re-derived
here: row i's fold is uniform_index(w0, w1, K) = floor((w0·2^32 + w1)·K / 2^64) of the Philox4x32-10
block with counter [i, 0, 7, 0] (stream tag 7, STREAM_CROSSFIT) and key (seed mod 2^32, seed >> 32)
(the Philox implementation is checked against the Random123 known-answer vectors). Under weights w,
for each fold j the propensity and outcome models above are fit with weights w·[fold ≠ j] and
predicted on fold j's rows; aipw is then the sum above with the cross-fitted e, m0, m1. Recorded:
the folds, the estimate (w = 1) and the estimates under the three weight vectors of
`weighted_checks`; the same for aipw-att with the cross-fitted e and m0 (`crossfit_att`).
"""
import json
import sys
import warnings

import numpy as np
import scipy
import sklearn
import statsmodels
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

N = 400
B = 4000
DATA_SEED = 20261206
BOOT_SEED = 7
N_BATCHES = 8
ESTIMATORS = ("ipw", "hajek", "aipw", "att", "aipw-att")


CROSSFIT_K = 5
CROSSFIT_SEED = 11
STREAM_CROSSFIT = 7
MASK = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    """Philox4x32-10 (Salmon et al. 2011), one block of four 32-bit words."""
    c, k = list(ctr), list(key)
    for rnd in range(10):
        if rnd > 0:
            k = [(k[0] + 0x9E3779B9) & MASK, (k[1] + 0xBB67AE85) & MASK]
        p0 = 0xD2511F53 * c[0]
        p1 = 0xCD9E8D57 * c[2]
        hi0, lo0 = p0 >> 32, p0 & MASK
        hi1, lo1 = p1 >> 32, p1 & MASK
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0]
    return c


def crossfit_folds(seed, n, k):
    key = [seed & MASK, seed >> 32]
    out = []
    for i in range(n):
        w = philox4x32_10([i, 0, STREAM_CROSSFIT, 0], key)
        out.append((((w[0] << 32) | w[1]) * k) >> 64)
    return np.array(out)


def crossfit_aipw(t, y, X, w, folds, k, att=False):
    e, m0, m1 = np.zeros(len(t)), np.zeros(len(t)), np.zeros(len(t))
    for j in range(k):
        hold = folds == j
        if not hold.any():
            continue
        beta, g0, g1 = fit_models(t, y, X, np.where(hold, 0.0, w))
        e[hold] = 1.0 / (1.0 + np.exp(-(X[hold] @ beta)))
        m0[hold] = X[hold] @ g0
        m1[hold] = X[hold] @ g1
    if att:
        r = y - m0
        return float(np.sum(w * (t * r - (1 - t) * e / (1 - e) * r)) / np.sum(w * t))
    return float(np.sum(w * (m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)))
                 / w.sum())


def round_sig(a, sig=10):
    return np.array([float(f"{v:.{sig - 1}e}") for v in a])


def make_data():
    rng = np.random.default_rng(DATA_SEED)
    x1 = rng.normal(size=N)
    x2 = rng.uniform(-1.0, 1.0, size=N)
    p = 1.0 / (1.0 + np.exp(-(-0.3 + 0.8 * x1 - 0.6 * x2)))
    t = rng.binomial(1, p).astype(float)
    y = 1.0 + 2.0 * t + 1.5 * x1 - x2 + 0.5 * t * x1 + rng.normal(size=N)
    return t, round_sig(y), round_sig(x1), round_sig(x2)


def fit_models(t, y, X, w):
    """Propensity and both arms' outcome coefficients, fitted with frequency weights w."""
    keep = w > 0
    glm = sm.GLM(t[keep], X[keep], family=sm.families.Binomial(), freq_weights=w[keep])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # perfect separation etc. count as a failed fit
        res = glm.fit(tol=1e-12, maxiter=200)
    if not res.converged:
        raise RuntimeError("GLM did not converge")
    beta = np.asarray(res.params)
    coefs = [beta]
    for arm in (0.0, 1.0):
        a = keep & (t == arm)
        coefs.append(np.asarray(sm.WLS(y[a], X[a], weights=w[a]).fit().params))
    return coefs  # [propensity, mu0, mu1]


def estimates(t, y, X, w):
    beta, g0, g1 = fit_models(t, y, X, w)
    e = 1.0 / (1.0 + np.exp(-(X @ beta)))
    m0 = X @ g0
    m1 = X @ g1
    sw = w.sum()
    ipw = np.sum(w * (t * y / e - (1 - t) * y / (1 - e))) / sw
    hajek = (np.sum(w * t * y / e) / np.sum(w * t / e)
             - np.sum(w * (1 - t) * y / (1 - e)) / np.sum(w * (1 - t) / (1 - e)))
    aipw = np.sum(w * (m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e))) / sw
    odds = e / (1 - e)
    att = (np.sum(w * t * y) / np.sum(w * t)
           - np.sum(w * (1 - t) * y * odds) / np.sum(w * (1 - t) * odds))
    aipw_att = (np.sum(w * t * (y - m0)) - np.sum(w * (1 - t) * odds * (y - m0))) / np.sum(w * t)
    vals = {"ipw": ipw, "hajek": hajek, "aipw": aipw, "att": att, "aipw-att": aipw_att}
    return {k: float(v) for k, v in vals.items()}, (beta, g0, g1)


def mc_summary(reps):
    se = float(np.std(reps, ddof=1))
    pct = [float(v) for v in np.percentile(reps, [2.5, 97.5])]
    batches = reps.reshape(N_BATCHES, -1)
    b_se = np.array([np.std(b, ddof=1) for b in batches])
    b_pct = np.array([np.percentile(b, [2.5, 97.5]) for b in batches])
    root = np.sqrt(N_BATCHES)
    se_mc = float(np.std(b_se, ddof=1) / root)
    pct_mc = [float(v) for v in np.std(b_pct, axis=0, ddof=1) / root]
    return se, se_mc, pct, pct_mc


def sklearn_logit(X, t, w):
    """scikit-learn's unpenalised logistic MLE; coefficients as [intercept, x1, x2]."""
    with warnings.catch_warnings():
        # sklearn 1.8+ deprecates penalty=None in favour of C=np.inf (same fit); keep it quiet.
        warnings.simplefilter("ignore", FutureWarning)
        sk = LogisticRegression(penalty=None, tol=1e-12, max_iter=1000).fit(X[:, 1:], t,
                                                                           sample_weight=w)
    return np.concatenate([sk.intercept_, sk.coef_.ravel()])


def main():
    t, y, x1, x2 = make_data()
    X = np.column_stack([np.ones(N), x1, x2])
    ones = np.ones(N)

    est, (beta, g0, g1) = estimates(t, y, X, ones)

    # Cross-check the propensity MLE against scikit-learn (full data, unit weights).
    skl_coef = sklearn_logit(X, t, ones)
    sk_dev = float(np.max(np.abs(skl_coef - beta)))
    assert sk_dev < 1e-6, (skl_coef, beta)
    # Outcome models: statsmodels WLS with unit weights = plain least squares.
    for arm, g in ((0.0, g0), (1.0, g1)):
        a = t == arm
        ls = np.linalg.lstsq(X[a], y[a], rcond=None)[0]
        assert np.max(np.abs(ls - g)) < 1e-10, (ls, g)

    rng2 = np.random.default_rng(BOOT_SEED)
    reps = {k: np.full(B, np.nan) for k in ESTIMATORS}
    failed = {k: 0 for k in ESTIMATORS}
    weighted_checks = []
    sk_dev_weighted = 0.0
    for b in range(B):
        w = np.bincount(rng2.integers(0, N, N), minlength=N).astype(float)
        try:
            vals, coefs = estimates(t, y, X, w)
        except Exception:  # noqa: BLE001 - any failed fit counts as a failed resample
            for k in ESTIMATORS:
                failed[k] += 1
            continue
        for k in ESTIMATORS:
            if np.isfinite(vals[k]):
                reps[k][b] = vals[k]
            else:
                failed[k] += 1
        if b < 3:
            # Exact checks of the weighted refit: the first three weight vectors.
            skc = sklearn_logit(X, t, w)
            sk_dev_weighted = max(sk_dev_weighted, float(np.max(np.abs(skc - coefs[0]))))
            weighted_checks.append({
                "weights": [int(v) for v in w],
                "propensity_coef": [float(v) for v in coefs[0]],
                "mu0_coef": [float(v) for v in coefs[1]],
                "mu1_coef": [float(v) for v in coefs[2]],
                "estimates": vals,
            })
    assert sk_dev_weighted < 1e-6, sk_dev_weighted

    # Random123 known answers for the Philox used by the fold rule
    assert philox4x32_10([0] * 4, [0] * 2) == [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    assert philox4x32_10([MASK] * 4, [MASK] * 2) == [0x408f276d, 0x41c83b0e, 0xa20bc7c6,
                                                       0x6d5451fd]
    folds = crossfit_folds(CROSSFIT_SEED, N, CROSSFIT_K)
    crossfit = {
        "K": CROSSFIT_K,
        "seed": CROSSFIT_SEED,
        "folds": [int(v) for v in folds],
        "estimate": crossfit_aipw(t, y, X, ones, folds, CROSSFIT_K),
        "weighted": [crossfit_aipw(t, y, X, np.array(c["weights"], dtype=float), folds,
                                   CROSSFIT_K) for c in weighted_checks],
    }

    crossfit_att = {
        "estimate": crossfit_aipw(t, y, X, ones, folds, CROSSFIT_K, att=True),
        "weighted": [crossfit_aipw(t, y, X, np.array(c["weights"], dtype=float), folds,
                                   CROSSFIT_K, att=True) for c in weighted_checks],
    }

    estimators = {}
    for k in ESTIMATORS:
        r = reps[k][np.isfinite(reps[k])]
        assert failed[k] == 0, (k, failed[k])  # the batch split below assumes all B succeeded
        se, se_mc, pct, pct_mc = mc_summary(r)
        estimators[k] = {
            "estimate": est[k],
            "std_error": se,
            "std_error_mc": se_mc,
            "percentile": pct,
            "percentile_mc": pct_mc,
            "failed": failed[k],
        }

    out = {
        "generated_by": {
            "script": "tests/reference/make_refit_reference.py",
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
            "sklearn": sklearn.__version__,
            "data_seed": DATA_SEED,
            "bootstrap_seed": BOOT_SEED,
            "mc_batches": N_BATCHES,
            "sklearn_propensity_max_abs_dev": sk_dev,
            "sklearn_propensity_max_abs_dev_weighted": sk_dev_weighted,
        },
        "n": N,
        "columns": {
            "t": [float(v) for v in t],
            "y": [float(v) for v in y],
            "x1": [float(v) for v in x1],
            "x2": [float(v) for v in x2],
        },
        "propensity_coef": [float(v) for v in beta],
        "mu0_coef": [float(v) for v in g0],
        "mu1_coef": [float(v) for v in g1],
        "B": B,
        "estimators": estimators,
        "weighted_checks": weighted_checks,
        "crossfit": crossfit,
        "crossfit_att": crossfit_att,
    }
    with open("tests/reference/refit_reference.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
