"""The compiled core: order books, checksums, number parsing and frame decompression."""
from ccxtpro_fast._core.framing import DecompressionError, decompress
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
