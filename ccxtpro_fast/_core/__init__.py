"""The compiled core: order books, checksums, number parsing and frame decompression."""
try:
    from ccxtpro_fast._core.framing import DecompressionError, decompress
except ImportError as error:   # one clear line instead of a bare "No module named"
    raise ImportError(
        "ccxtpro_fast's compiled core is not built here. In the source tree run "
        "`pip install -e .`; from an installed package, run Python outside the source tree "
        "(its uncompiled sources shadow the installed package)") from error
from ccxtpro_fast._core.orderbook import (
    CHECKSUM_BITFINEX,
    CHECKSUM_KRAKEN,
    CHECKSUM_KRAKEN_V2,
    CHECKSUM_OKX,
    Asks,
    Bids,
    CountedAsks,
    CountedBids,
    CountedOrderBook,
    CountedOrderBookSide,
    DecimalError,
    IndexedAsks,
    IndexedBids,
    IndexedOrderBook,
    IndexedOrderBookSide,
    OrderBook,
    OrderBookSide,
    parse_decimal,
)
