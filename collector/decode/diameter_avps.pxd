# Cython declarations for diameter_avps.py (setup.py compiles it; the .py stays the source):
# C integers for the AVP walk.
cimport cython


@cython.locals(code=cython.ulong, flags_len=cython.ulong, length=Py_ssize_t,
               key=cython.ulonglong, data=Py_ssize_t)
cpdef object _walk(bytes buf, Py_ssize_t p, Py_ssize_t end, long depth, frozenset wanted,
                   list found, list budget)
