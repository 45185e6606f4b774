from typing import Any, Callable

from picows import WSListener

class TextFrameListener(WSListener):
    def __init__(self, listener: Any, decode_text: Callable[[bytes], Any],
                 clock_ms: Callable[[], int]) -> None: ...
