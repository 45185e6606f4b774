# cython: freethreading_compatible = False
"""The picows listener's hot path, compiled.

picows calls its listener's ``on_ws_frame`` for every frame. A Python listener costs a
Python call and frame per frame; this subclass of picows' ``WSListener`` is called from
picows' C code directly. It handles the frame nearly every message is, a whole text
frame, exactly as ``ccxtpro_fast.base.client._Listener.on_ws_frame`` does (the stamp,
the raw hook, decoding, dispatch; an adapter's compiled ``RawHook`` without a Python call), and hands every other frame and event to that Python
listener. It is built against picows' .pxd, so it needs the picows it was built with
(pyproject.toml pins it); with any other, the client keeps the Python listener."""
from picows.picows cimport WSFrame, WSListener, WSMsgType, WSTransport

from cpython.dict cimport PyDict_GetItemWithError
from cpython.ref cimport PyObject

from ccxtpro_fast._core.diffs cimport RawHook


cdef class TextFrameListener(WSListener):
    """``TextFrameListener(listener, decode_text, clock_ms)``: ``listener`` is the
    connection's Python listener (its ``client`` the ccxt-contract client)."""
    cdef object listener
    cdef object client
    cdef dict attributes
    cdef object decode_text
    cdef object clock_ms

    def __init__(self, listener, decode_text, clock_ms):
        self.listener = listener
        self.client = listener.client
        self.attributes = self.client.__dict__
        self.decode_text = decode_text
        self.clock_ms = clock_ms

    cdef inline object _client_attribute(self, str name):
        # the client's plain instance attributes (set in its __init__), read per frame
        # from its instance dict: a getattr would search its class first
        cdef PyObject *found = PyDict_GetItemWithError(self.attributes, name)
        return <object>found if found is not NULL else getattr(self.client, name)

    cpdef on_ws_connected(self, WSTransport transport):
        self.listener.on_ws_connected(transport)

    cpdef on_ws_disconnected(self, WSTransport transport):
        self.listener.on_ws_disconnected(transport)

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef object client = self.client
        if (frame.msg_type != WSMsgType.TEXT or not frame.fin
                or self._client_attribute('_fragments') is not None):
            self.listener.on_ws_frame(transport, frame)
            return
        if self._client_attribute('_stamp_due'):
            # the first message of this read: one time stamp serves the whole burst
            client.last_message_at = self.clock_ms()
            client._stamp_due = False
        if frame.last_in_buffer:
            client._stamp_due = True
        data = frame.get_payload_as_bytes()
        if self._client_attribute('verbose'):
            client._vlog('message', data)
        callback = self._client_attribute('raw_message_callback')
        if callback is not None:
            try:
                # a native adapter's compiled hook is called in C, any other callable as such
                if isinstance(callback, RawHook):
                    if (<RawHook>callback).handle(client, data):
                        return
                elif callback(client, data):
                    return
            except Exception as error:
                client.raw_handler_failed(data, error)
                return
        try:
            message = self.decode_text(data)
        except (ValueError, UnicodeDecodeError) as error:
            client._bad_input(data, error)
            return
        client.dispatch(message)
