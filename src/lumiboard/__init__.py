"""lumiboard: training visualization compatible with TensorBoard's files.

Writing::

    from lumiboard import SummaryWriter          # PyTorch-style
    from lumiboard import summary, hparams       # TF2-style and the hparams API

Importing lumiboard loads no web framework and no torch.
"""

from lumiboard import hparams, summary
from lumiboard.writer.summary_writer import SummaryWriter

__version__ = "0.1.0"

__all__ = ["SummaryWriter", "__version__", "hparams", "summary"]
