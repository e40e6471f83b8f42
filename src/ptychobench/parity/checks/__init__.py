"""The parity checks, legacy vs modern, stage by stage: one module per family.

Every check compares the code under test with something independent of it, named in its
docstring and in :attr:`CheckResult.reference`: the original's arrays, a literal table
transcribed from the original code (:mod:`..reference`), a formula written out again in
:mod:`..reference` or in the check, a hand-computed case, the faithful seed distribution
(:mod:`..trained`), or the other pipeline. Every comparison is a row of
:attr:`CheckResult.rows` (what was measured, the limit, which tolerance entry); a check
passes when every row does, and a check without rows fails. The row machinery lives in
:mod:`.rows`; rendering in :mod:`..report`.

| module | checks |
|---|---|
| ``loss`` | ``loss_config``, ``loss_form`` |
| ``config`` | ``config`` |
| ``data`` | ``data`` |
| ``normalization`` | ``normalization`` |
| ``architecture`` | ``architecture`` |
| ``training`` | ``training_params``; ``training_run`` (trained: what the loop did, observed) |
| ``stitching`` | ``stitching`` |
| ``gauge`` | ``metrics`` |
| ``custom`` | ``custom_path`` (the custom-probe scenarios' own settings and model parts) |
| ``recorded`` | ``recorded_numbers`` |
| ``amplitude`` | ``amplitude``, ``amplitude_<scenario>`` (trained; their bands from our own seeds are regression guards) |
| ``original`` | ``original_distribution`` (trained: parity with the original's own draws) |

The static checks need only the two *prepared* pipelines; the amplitude checks need the
trained runs.
"""

from .amplitude import check_amplitude, predicted_ratio
from .architecture import check_architecture
from .config import check_config
from .custom import check_custom_path
from .data import check_data
from .gauge import check_metrics
from .loss import LOSS_KEYS, check_loss_config, check_loss_form
from .normalization import check_normalization
from .original import check_original
from .recorded import check_recorded_numbers
from .rows import CheckResult, Rows
from .stitching import check_stitching
from .training import check_training_params, check_training_run, observe_training, training_parameters

STATIC_CHECKS = {
    "loss_config": check_loss_config,
    "loss_form": check_loss_form,
    "config": check_config,
    "data": check_data,
    "normalization": check_normalization,
    "architecture": check_architecture,
    "training_params": check_training_params,
    "stitching": check_stitching,
    "metrics": check_metrics,
    "custom_path": check_custom_path,
}

__all__ = ["CheckResult", "Rows", "LOSS_KEYS", "STATIC_CHECKS", "check_amplitude", "check_architecture",
           "check_config", "check_custom_path", "check_data", "check_loss_config", "check_loss_form", "check_metrics",
           "check_normalization", "check_recorded_numbers", "check_stitching", "check_training_params",
           "check_training_run", "observe_training", "predicted_ratio", "training_parameters"]
