# Cython declarations for gtpv2.py (setup.py compiles it; the .py stays the source):
# the decoder as an extension type, its per-message steps called in C.
from collector.identity cimport Correlator


cdef class GTPv2Decoder:
    cdef public object _pseudonymize
    cdef public Correlator _correlator

    cpdef object facts(self, bytes payload)
    cpdef object _message_facts(self, object head)
    cpdef tuple attribute(self, tuple read, object assoc, object frame, double time,
                          object receiver=*)
    cpdef tuple _message(self, tuple item, object assoc, object receiver, object frame,
                         double now)
    cpdef tuple _carried(self, object facts)
    cpdef object _by_tunnel(self, object kind, object teid, object assoc, object receiver,
                            double now)
    cpdef _learn(self, list fteids, object sub, double now)
