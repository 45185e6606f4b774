cdef class Iso8601:
    cdef long long second
    cdef long long minute
    cdef str prefix
    cdef str minute_prefix
    cdef object slow

    cdef object text(self, long long timestamp)
