# Cython declarations for stage.py (setup.py compiles it; the .py stays the source).
cdef class DecodeStage:
    cdef public object _counters, _pseudonymizer, correlator
    cdef public dict _decoders

    cpdef object facts(self, object msg)
    cpdef list attribute(self, object frame, double time, str proto, object assoc, object dst,
                         object read)
