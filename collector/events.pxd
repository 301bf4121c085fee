# Cython declarations for events.py (setup.py compiles it; the .py stays the source).
cdef class SignallingEvent:
    cdef public object frame, time, proto, msg, nas, subscriber, home_mcc, plmn, tac, cell, rat
    cdef public object off, target, imei_tac, psm
