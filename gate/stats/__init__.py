"""Statistics for asr-gate: intervals, the paired per-attack test, multiplicity, planner, boundaries.

Every function here is pure (no I/O, no global state) and returns a named result. The design and
its evidence are in docs/statistics.md; the section numbers below refer to it. In short:

* The unit of analysis is the **attack**, not the attempt (§0, §2). Attempts of one attack are
  correlated, so every interval and test here is clustered by attack (`intervals`).
* The gate's regression test is the **paired per-attack difference** with a cluster-robust (CR1)
  standard error and Student t with K−1 degrees of freedom (`paired_difference`, §3.2), or the
  exact **sign-flip** randomisation test when there are fewer than ~10 attacks (`sign_flip_test`),
  both in `differences`.
* The verdict uses one-sided bounds L (at ``alpha``) and U (at ``pass_alpha``) on the change Δ.
* `holm` / `benjamini_hochberg` adjust p-values (`multiplicity`); `per_attack_tests` is the
  exploratory drill-down (one-sided Boschloo for n ≤ 100, else Fisher; BH q-values across attacks;
  `exact`).
* `plan_*`, `mde`, `predicted_power` are the sample-size planner (§3.6, §3.7; `planning`).
* `gsd_*` give group-sequential boundaries (§3.8; `boundaries`).
* `rogan_gladen`, `corrected_asr` correct an ASR for the detector's measured sensitivity and
  specificity, with an interval that carries the detector's own uncertainty (§3.12; `misclassification`).

Distributions, quantiles and exact tests come from scipy.stats; nothing here re-implements a
special function. Functions that take arrays are vectorised with numpy; `paired_difference` works
along the last axis so that simulations can run thousands of trials in one call. Nothing under
gate/stats/ imports anything but numpy, scipy and the standard library.

Conventions: ``alpha`` is always a **one-sided** level. A two-sided 90% interval is the pair of
one-sided 95% bounds. Proportions and differences are fractions (0.05 = 5 points).
"""
from __future__ import annotations

from .boundaries import OBF_4_LOOKS_ALPHA_05, gsd_constant, gsd_spending_boundaries, gsd_t_critical
from .differences import (PairedDifference, SignFlipResult, jeffreys_se, omega_hat, one_sided_bounds,
                          paired_difference, ratio_contributions, sign_flip_min_attacks, sign_flip_test)
from .exact import AttackTests, ExactTest, exact_2x2, fisher_greater, per_attack_tests
from .intervals import (ClusteredInterval, ClusterMean, Interval, cluster_mean_se, clustered_wilson,
                        clustered_wilson_interval, icc_anova, newcombe_interval, proportion_interval,
                        wilson_interval, zero_success_upper)
from .misclassification import (CORRECTION_DRAWS, CORRECTION_SEED, CorrectedASR, corrected_asr,
                                 corrected_asr_interval, rogan_gladen, rogan_gladen_delta_se, youden)
from .multiplicity import adjust_pvalues, benjamini_hochberg, holm
from .planning import (Plan, k_min, mde, n_star, plan, plan_attacks, plan_repeats, predicted_power,
                       variance_of_difference, within_variance)

__all__ = [
    "Interval", "ClusteredInterval", "PairedDifference", "SignFlipResult", "ExactTest", "AttackTests",
    "ClusterMean", "Plan",
    "wilson_interval", "proportion_interval", "zero_success_upper", "icc_anova", "clustered_wilson_interval",
    "clustered_wilson", "cluster_mean_se", "paired_difference", "ratio_contributions", "jeffreys_se",
    "one_sided_bounds", "sign_flip_test", "sign_flip_min_attacks",
    "holm", "benjamini_hochberg", "adjust_pvalues", "exact_2x2", "fisher_greater", "per_attack_tests",
    "omega_hat", "within_variance", "variance_of_difference", "plan_attacks", "plan_repeats", "k_min",
    "n_star", "mde", "predicted_power", "plan", "newcombe_interval",
    "gsd_spending_boundaries", "gsd_constant", "gsd_t_critical", "OBF_4_LOOKS_ALPHA_05",
    "CorrectedASR", "CORRECTION_DRAWS", "CORRECTION_SEED", "rogan_gladen", "rogan_gladen_delta_se", "youden",
    "corrected_asr", "corrected_asr_interval",
]
