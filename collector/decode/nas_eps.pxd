# Cython declarations for nas_eps.py (setup.py compiles it; the .py stays the source).
cdef class NASInfo:
    cdef public object name, emm, subscriber, tmsi, new_tmsi, has_tai, off, imei_tac, psm
