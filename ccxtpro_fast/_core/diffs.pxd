# The compiled raw-frame hooks: the contract the compiled listener cimports.

cdef class RawHook:
    cdef public Py_ssize_t applied     # frames the core applied (statistics)
    # 1: the frame was handled; 0: it goes on to JSON decoding and handle_message
    cdef int handle(self, object client, bytes data) except -1
