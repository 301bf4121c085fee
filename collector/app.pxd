# Cython declarations for app.py (setup.py compiles it; the .py stays the source).
cimport cython

from collector.decode.stage cimport DecodeStage
from collector.events cimport SignallingEvent
from collector.presence cimport PresenceState

cdef class EdgePipeline:
    cdef public object counters, tally, events, devices, edge, _tacs, _pseudo
    cdef public DecodeStage decode
    cdef public PresenceState presence
    cdef public object key_skew

    cpdef list feed(self, object frame, double ts, object msg)
    @cython.locals(ev=SignallingEvent)
    cpdef list feed_facts(self, object frame, double ts, str proto, object assoc, object dst,
                          object read, object keys=*)
    cpdef list _emit(self, list closed)


cpdef feed_all(EdgePipeline pipe, object messages, object ship)
