# Cython declarations for gtpv2_ies.py (setup.py compiles it; the .py stays the source):
# the facts as an extension type, C integers for the TLV walk.
cimport cython


cdef class GTPv2Facts:
    cdef public object imsi, msisdn, imei_tac, plmn, tac, cell, serving, rat_type, bad
    cdef public list fteids


@cython.locals(head=Py_ssize_t, end=Py_ssize_t, seq=long)
cpdef object split_message(bytes buf)
@cython.locals(f=GTPv2Facts, off=Py_ssize_t, size=Py_ssize_t, end=Py_ssize_t, kind=long)
cpdef object read_facts(bytes buf, GTPv2Facts facts=*, long depth=*)
cpdef _read_ie(GTPv2Facts f, long kind, bytes value, long depth)
