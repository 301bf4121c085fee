# Cython declarations for s1ap_walk.py (setup.py compiles it; the .py stays the source):
# C integers for the octet arithmetic of the walk.
cimport cython

cdef class S1APWalk:
    cdef dict _tai, _ecgi, _uli, _tai_list

    @cython.locals(size=Py_ssize_t, seen=long, off=Py_ssize_t, head=Py_ssize_t,
                   first=long, start=Py_ssize_t, n=Py_ssize_t, k=object)
    cpdef walk(self, bytes body, dict kinds)
