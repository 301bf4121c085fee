# Cython declarations for telemetry.py (setup.py compiles it; the .py stays the source).
cdef class Counters:
    cdef public object messages, dropped, frames

    cpdef drop(self, str stage, str reason, object n=*)
