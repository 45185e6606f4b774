"""ccxt's ``iso8601``, fast for the common call: the compiled ``Iso8601`` of the core
(ccxtpro_fast/_core/timefmt.pyx), which every exchange instance of ours uses."""
from ccxtpro_fast._core.timefmt import Iso8601

__all__ = ['Iso8601']
