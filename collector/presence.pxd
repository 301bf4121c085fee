# Cython declarations for presence.py (setup.py compiles it; the .py stays the source):
# the per-device state as an extension type, its per-message steps called in C.
cimport cython

cdef class PresenceState:
    cdef public object bin, timeout, lateness, late, _slot, _free, _cells, _cell_ids
    cdef public object _key, _used, _cell, _since, _last, _acc_bin, _acc_cell, _acc_secs
    cdef public object _overflow, _open_from, _mcc, on_close, retain, _flags
    cdef public object created, hold, _hold, moved
    cdef public double _watermark, _quiet_until

    cpdef bint observe(self, object device, double t, object cell, object mcc=*, object flags=*)
    cpdef object _new(self, object device, double t)
    cpdef _account(self, object slot, double until)
    cpdef _add(self, object slot, object start, object cid, double seconds)
    cpdef list advance(self, double now)
    cpdef _skip_quiet(self, double until)
