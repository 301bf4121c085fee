# Cython declarations for nas_eps_fast.py (setup.py compiles it; the .py stays the source):
# C integers for the octet arithmetic of the walk.
cimport cython

@cython.locals(end=Py_ssize_t, pos=Py_ssize_t, first=Py_ssize_t, kind=long, t8=long, t4=long,
               i=Py_ssize_t, roles=dict, pending=list, ie=tuple)
cpdef object walk(bytes buf, Py_ssize_t start, object layout)


cdef class EPSNASReader:
    cdef public object _pseudonymize, _emm, _esm, _service, _detach_mo, _detach_mt
