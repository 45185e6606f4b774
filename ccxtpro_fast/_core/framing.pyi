"""Type stubs of ccxtpro_fast/_core/framing.pyx."""
from typing import Union

GZIP: int
DEFLATE: int
ZLIB: int
AUTO: int
DEFAULT_MAX_SIZE: int

class DecompressionError(ValueError): ...

def decompress(data: Union[bytes, bytearray, memoryview], wbits: int = ...,
               max_size: int = ...) -> bytes: ...
