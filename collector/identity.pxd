# Cython declarations for identity.py (setup.py compiles it; the .py stays the source):
# the correlation tables as extension types, their lookups called in C.
cimport cython

cdef class BoundedTable:
    cdef public object _items  # an OrderedDict
    cdef public Py_ssize_t _max
    cdef public double _ttl, _oldest

    @cython.locals(item=tuple)
    cpdef object get(self, object key, double now)
    cpdef put(self, object key, object value, double now)
    cpdef _purge(self, double now)
    cpdef pop(self, object key)
    cpdef pop_if(self, object key, object value)


cdef class Correlator:
    cdef public BoundedTable _enb, _mme, _tmsi, _bearer, _ran, _amf, _guti

    @cython.locals(entry=tuple)
    cpdef object ue_lookup(self, object assoc, object enb_id, object mme_id, double now)
    cpdef ue_learn(self, object assoc, object enb_id, object mme_id, object sub, double now)
    cpdef ue_release(self, object assoc, object enb_id, object mme_id)
    cpdef ue_switched(self, object mme_id, double now)
    @cython.locals(entry=tuple)
    cpdef _forget_partner(self, BoundedTable ran, BoundedTable core, object core_id, double now)
    cpdef object tmsi_lookup(self, object mmec, object mtmsi, double now)
    cpdef tmsi_learn(self, object mmec, object mtmsi, object sub, double now)
    @cython.locals(held=tuple)
    cpdef object _tmsi_used(self, tuple key, double now)
    @cython.locals(held=tuple)
    cpdef _tmsi_learn(self, tuple key, object sub, double now)
    cpdef object bearer_lookup(self, object address, object teid, double now)
    cpdef bearer_learn(self, object address, object teid, object sub, double now)
    @cython.locals(entry=tuple)
    cpdef object ngap_ue_lookup(self, object assoc, object ran_id, object amf_id, double now)
    cpdef ngap_ue_learn(self, object assoc, object ran_id, object amf_id, object sub, double now)
    cpdef ngap_ue_switched(self, object amf_id, double now)
    cpdef ngap_ue_release(self, object assoc, object ran_id, object amf_id)
    @cython.locals(off=bint)
    cpdef bint connection_off(self, object assoc, object ran_id, bint new, object sub,
                              bint says_off, double now)
    cpdef object tmsi5g_lookup(self, tuple s_tmsi, double now)
    cpdef tmsi5g_learn(self, tuple s_tmsi, object sub, double now)
    cpdef object tunnel_lookup(self, object address, object teid, double now)
    cpdef tunnel_learn(self, object address, object teid, object sub, double now)
    cpdef object session_lookup(self, object session, double now)
    cpdef session_learn(self, object session, object sub, double now)
    cpdef session_end(self, object session)
