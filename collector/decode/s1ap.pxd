# Cython declarations for s1ap.py (setup.py compiles it; the .py stays the source):
# the decoder as an extension type, its per-message steps called in C.
cimport cython

from collector.decode.s1ap_walk cimport S1APWalk
from collector.identity cimport Correlator


cdef class _Plan:
    cdef public object name, flags, uplink, ie_types, kinds, empty


cdef class S1APDecoder:
    cdef public object _pseudonymize, _schema, _nas, _nas_fast, _fast, _plans
    cdef public object _readers, _names, _walked, _careful, fallback, _assocs, _next_assoc
    cdef public object _paging, _seen
    cdef public Correlator _correlator
    cdef public S1APWalk _walk

    cpdef object facts(self, bytes payload)
    @cython.locals(size=Py_ssize_t, first=long, length=long, start=Py_ssize_t, end=Py_ssize_t,
                   plan=_Plan)
    cpdef object _facts(self, bytes payload)
    cpdef object _finish(self, _Plan plan, object enb, object mme, object source,
                         object nas_pdus, object plmn, object tac, object cell, object s_tmsi,
                         object paging_imsi, object bearers)
    @cython.locals(flags=long, corr=Correlator)
    cpdef tuple attribute(self, object read, object assoc, object frame, double time)
