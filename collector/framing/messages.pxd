# Cython declarations for messages.py (setup.py compiles it; the .py stays the source):
# messages and the framer as extension types, the fast path's steps called in C.
cimport cython


cdef class TransportMessage:
    cdef public object proto, assoc, payload, src, dst, sport, dport, ppid


cdef class Framer:
    cdef public object _counters, _sctp, _fragments, _tcp, _flows, _udp, _fast

    @cython.locals(i=Py_ssize_t, off=Py_ssize_t, kind=long, out=list, kinds=list, starts=list,
                   stops=list, ppids=list, offsets=list, lengths=list, linktypes=list)
    cpdef list batch(self, object rec)

    @cython.locals(flows=dict)
    cpdef TransportMessage _sctp_fast(self, bytes key, object ppid, bytes payload)
    cpdef TransportMessage _udp_fast(self, bytes key, bytes payload)
    cpdef list _general(self, object linktype, bytes frame, object time)
