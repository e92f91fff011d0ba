"""Turn understanding: need, topic and step heads over the one e5 vector of a turn (issue #17).

Modules: `text` (cues, phrases and the step gates), `clauses` (an agent turn cut into clauses), `heads` (the
linear and n-gram heads and their numpy trainers), `model` (`TurnUnderstanding`: inference), `modelfile` (the .npz
format, checks), `train` (training and calibration), `examples` (the editors' examples, split and augmentation),
`stage` (what the live-call engine uses), `memory` (the nearest training turns: why a step is ticked).
"""

from assist.calls.understanding.model import ModelFileError, Playbook, TurnReading, TurnUnderstanding
from assist.calls.understanding.stage import ModelStatus, Understanding

__all__ = ["ModelFileError", "ModelStatus", "Playbook", "TurnReading", "TurnUnderstanding", "Understanding"]
